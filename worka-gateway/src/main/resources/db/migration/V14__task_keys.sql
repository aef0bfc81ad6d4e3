-- Task idempotency keys move to a narrow table of their own, and a completed task's row is deleted
-- instead of kept as 'done'. A key still refuses a second task for ever (enqueue inserts the key
-- first), but claims and completions no longer write that unique index: a claim updates the row
-- (a new version indexed by its primary key and lease), a completion only marks it deleted. So
-- the tasks table holds only work not yet done (ready, claimed, failed) and stays small.
create table task_keys (
  idempotency_key text primary key,
  task_id         uuid not null,
  created_at      timestamptz not null default now()
);
insert into task_keys (idempotency_key, task_id, created_at)
  select idempotency_key, id, created_at from tasks;
delete from tasks where status = 'done';
alter table tasks drop constraint tasks_idempotency_key_key;
alter table tasks drop constraint tasks_status_check;
alter table tasks add constraint tasks_status_check check (status in ('ready','claimed','failed'));
