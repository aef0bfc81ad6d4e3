-- Approvals (the policy's skills.SKILL.approval): a worker's call that needs a person's yes is held
-- as a request bound to its run, step, attempt, skill, exact input (and its SHA-256 over canonical
-- JSON), idempotency key and policy version; one decision (approved, denied) or its expiry closes
-- it. Only the outcome columns change after insert, once, from pending; a request is never deleted.
-- The gate references are checked at commit: the gate is written last (it takes the chain's lock).
create table approvals (
  id                 uuid primary key,
  run_id             uuid not null references runs(id),
  step_id            uuid not null references steps(id),
  attempt            integer not null,
  agent              text not null,
  skill              text not null,
  input              jsonb not null,
  input_sha256       text not null,
  idempotency_key    text not null,
  policy_manifest_id uuid not null references policy_manifests(id),
  policy_version     integer not null,
  approvers          text[] not null,
  reason             text not null,
  request_gate_id    uuid not null references gates(id) deferrable initially deferred,
  status             text not null check (status in ('pending','approved','denied','expired')),
  requested_at       timestamptz not null,
  expires_at         timestamptz not null,
  decided_by         text,
  decided_at         timestamptz,
  decision_gate_id   uuid references gates(id) deferrable initially deferred,
  invocation_id      uuid references skill_invocations(id) deferrable initially deferred
);
create index approvals_pending_expiry on approvals (expires_at) where status = 'pending';
create index approvals_requested on approvals (requested_at desc);
create index approvals_step on approvals (step_id);

create function worka_approval_frozen() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'worka: approvals rows cannot be deleted' using errcode = 'insufficient_privilege';
  end if;
  if old.status <> 'pending' then
    raise exception 'worka: a decided or expired approval does not change'
      using errcode = 'insufficient_privilege';
  end if;
  if new.id is distinct from old.id or new.run_id is distinct from old.run_id
     or new.step_id is distinct from old.step_id or new.attempt is distinct from old.attempt
     or new.agent is distinct from old.agent or new.skill is distinct from old.skill
     or new.input is distinct from old.input or new.input_sha256 is distinct from old.input_sha256
     or new.idempotency_key is distinct from old.idempotency_key
     or new.policy_manifest_id is distinct from old.policy_manifest_id
     or new.policy_version is distinct from old.policy_version
     or new.approvers is distinct from old.approvers or new.reason is distinct from old.reason
     or new.request_gate_id is distinct from old.request_gate_id
     or new.requested_at is distinct from old.requested_at
     or new.expires_at is distinct from old.expires_at then
    raise exception 'worka: an approval request is bound to its call and never changes'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;
create trigger approvals_frozen before update or delete on approvals
  for each row execute function worka_approval_frozen();
create trigger approvals_no_truncate before truncate on approvals
  for each statement execute function worka_refuse_change();
