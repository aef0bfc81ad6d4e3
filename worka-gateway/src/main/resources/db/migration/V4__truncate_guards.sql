-- The remaining append-only tables refuse TRUNCATE too (V1 guarded the others).
create trigger policy_activations_no_truncate before truncate on policy_activations
  for each statement execute function worka_refuse_change();
create trigger skill_invocations_no_truncate before truncate on skill_invocations
  for each statement execute function worka_refuse_change();
create trigger gates_chain_no_change before delete or truncate on audit_chain
  for each statement execute function worka_refuse_change();
