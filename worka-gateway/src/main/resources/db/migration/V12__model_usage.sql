-- One row per model call the Gateway proxied (POST /v1/agent/model/v1/messages): who asked, under
-- which allow gate, which model answered, and the tokens the provider's `usage` counted. A run's
-- model token budget (limits.max_model_tokens_per_run) is checked against the sum of its rows.
-- Append-only, like the gates it hangs off: a count is never revised.
create table model_usage (
  id            uuid primary key,
  run_id        uuid not null references runs(id),
  step_id       uuid not null references steps(id),
  attempt       integer not null,
  agent         text not null,
  gate_id       uuid not null references gates(id),
  model         text not null,
  upstream_status integer not null,
  input_tokens  bigint not null check (input_tokens >= 0),
  output_tokens bigint not null check (output_tokens >= 0),
  created_at    timestamptz not null default now()
);
create index model_usage_run on model_usage (run_id, created_at);

create trigger model_usage_append_only before update or delete on model_usage
  for each row execute function worka_refuse_change();
create trigger model_usage_no_truncate before truncate on model_usage
  for each statement execute function worka_refuse_change();
