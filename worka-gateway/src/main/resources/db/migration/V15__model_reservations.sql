-- Tokens set aside for model calls under way. A model call's allow gate reserves the output tokens
-- it may use (its max_tokens, cut to what is left of the run's budget) until the call's
-- model_usage row (same gate) records what it used; concurrent calls of one run then see each
-- other's reservations instead of the same remainder. A reservation whose call never recorded its
-- usage (the Gateway died mid-call) stops counting once the call would have timed out.
-- Append-only: a reservation is released by the usage row, never edited.
create table model_reservations (
  gate_id    uuid primary key references gates(id),
  run_id     uuid not null references runs(id),
  tokens     bigint not null check (tokens >= 1),
  created_at timestamptz not null
);
create index model_reservations_run on model_reservations (run_id, created_at);
create index model_usage_gate on model_usage (gate_id);

create trigger model_reservations_append_only before update or delete on model_reservations
  for each row execute function worka_refuse_change();
create trigger model_reservations_no_truncate before truncate on model_reservations
  for each statement execute function worka_refuse_change();
