-- Who may start a run (the policy's ingress section): the run service counts a requester's runs
-- (per source) under a lock per requester, refuses with a run.create deny gate, and remembers the
-- refusal of an external event (a Slack event or command, a GitHub comment) by its key, so a retry
-- or a replay of the same signed request is answered with the same refusal and writes no second gate.

-- Runs per requester in the last hour, and those not yet ended (ingress.quotas).
create index runs_requester_created on runs (source, (coalesce(requester, '')), created_at);
create index runs_requester_open on runs (source, (coalesce(requester, '')))
  where status in ('received', 'planning', 'running', 'delivering');

-- Refused requests of external events, by the key their run would have had. Append-only.
create table run_refusals (
  idempotency_key text primary key,
  gate_id         uuid not null references gates(id),
  kind            text not null check (kind in ('ingress_denied', 'quota_exceeded')),
  created_at      timestamptz not null
);
create trigger run_refusals_append_only before update or delete on run_refusals
  for each row execute function worka_refuse_change();
create trigger run_refusals_no_truncate before truncate on run_refusals
  for each statement execute function worka_refuse_change();

-- GET /v1/gates?action=… lists gates newest first (refusals have no run to find them by).
create index gates_action_seq on gates (action, seq);
