-- Every lock event of a mediated call, append-only: the lock taken for a new call ('acquired'),
-- released when its outcome is recorded ('released'), a repeat of a finished call answered from
-- the record ('replayed'), and a repeat while the first is still running ('conflict').
create table invocation_lock_events (
  id              bigserial primary key,
  invocation_id   uuid not null references skill_invocations(id),
  run_id          uuid not null,
  step_id         uuid not null,
  skill           text not null,
  idempotency_key text not null,
  lock_status     text not null check (lock_status in ('acquired','replayed','conflict','released')),
  gate_id         uuid references gates(id),
  created_at      timestamptz not null default now()
);
create index invocation_lock_events_invocation on invocation_lock_events (invocation_id, id);
create trigger invocation_lock_events_append_only before update or delete on invocation_lock_events
  for each row execute function worka_refuse_change();
create trigger invocation_lock_events_no_truncate before truncate on invocation_lock_events
  for each statement execute function worka_refuse_change();
