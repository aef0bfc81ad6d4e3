-- Worka foundation schema: every table of DESIGN §4, the task queue, and the database-enforced
-- append-only rule for audit tables (DESIGN §2.9). Timestamps are written by the application
-- from its injected clock; the defaults are only a fallback.

create function worka_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'worka: % is append-only; % refused', tg_table_name, tg_op
    using errcode = 'insufficient_privilege';
end
$$;

-- Compiled policy versions. Immutable; which one is active is recorded append-only below.
create table policy_manifests (
  id          uuid primary key,
  version     integer not null unique check (version > 0),
  sha256      text not null,
  source_text text not null,
  compiled    jsonb not null,
  created_by  text not null,
  created_at  timestamptz not null default now()
);

create table policy_activations (
  id           bigserial primary key,
  manifest_id  uuid not null references policy_manifests(id),
  activated_by text not null,
  activated_at timestamptz not null default now()
);

create table runs (
  id                 uuid primary key,
  status             text not null check (status in
                       ('received','planning','running','delivering','succeeded','failed','rejected','cancelled')),
  version            integer not null default 0,
  source             text not null check (source in ('slack','github','api','cli')),
  text               text not null,
  requester          text,
  slack_channel      text,
  slack_user         text,
  slack_thread_ts    text,
  delivery           jsonb not null default '{}'::jsonb,
  idempotency_key    text,
  request_hash       text,
  trace_id           text not null,
  policy_manifest_id uuid not null references policy_manifests(id),
  result             jsonb,
  error              text,
  deadline           timestamptz,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  completed_at       timestamptz
);
create unique index runs_idempotency_key on runs (idempotency_key) where idempotency_key is not null;
create index runs_created on runs (created_at desc, id);
create index runs_status_created on runs (status, created_at desc);

create table plans (
  id                uuid primary key,
  run_id            uuid not null references runs(id),
  planner_step_id   uuid,
  created_by        text not null,
  status            text not null check (status in ('accepted','rejected')),
  plan_hash         text,
  raw_plan          text not null,
  normalized_plan   jsonb,
  rejection_reasons jsonb not null default '[]'::jsonb,
  created_at        timestamptz not null default now()
);
create index plans_run on plans (run_id);

create table steps (
  id             uuid primary key,
  run_id         uuid not null references runs(id),
  plan_id        uuid references plans(id),
  step_ref       text not null,
  role           text not null check (role in ('planner','worker')),
  agent_name     text not null,
  sequence       integer not null,
  instruction    jsonb not null,
  allowed_skills text[] not null default '{}',
  depends_on     uuid[] not null default '{}',
  status         text not null check (status in
                   ('pending','queued','running','retry_wait','awaiting_approval','succeeded','failed','timed_out','cancelled')),
  version        integer not null default 0,
  attempt        integer not null default 0,
  max_attempts   integer not null default 1,
  deadline       timestamptz,
  output         jsonb,
  summary        text,
  error          text,
  artifacts      jsonb not null default '[]'::jsonb,
  created_at     timestamptz not null default now(),
  started_at     timestamptz,
  completed_at   timestamptz,
  updated_at     timestamptz not null default now(),
  unique (run_id, step_ref)
);
create index steps_run on steps (run_id, sequence);

create table gates (
  id                 uuid primary key,
  seq                bigserial not null unique,
  action             text not null,
  status             text not null check (status in ('allow','deny')),
  subject            text not null,
  run_id             uuid,
  step_id            uuid,
  attempt            integer,
  skill              text,
  reason             text not null,
  policy_manifest_id uuid,
  trace_id           text,
  created_at         timestamptz not null default now()
);
create index gates_run on gates (run_id, seq);

create table burns (
  id          uuid primary key,
  run_id      uuid not null,
  step_id     uuid,
  agent       text,
  attempt     integer,
  kind        text not null,
  reason      text not null,
  diagnostics jsonb not null default '{}'::jsonb,
  created_at  timestamptz not null default now()
);
create index burns_run on burns (run_id, created_at);

create table evals (
  id         uuid primary key,
  suite      text not null,
  case_name  text not null,
  run_id     uuid references runs(id),
  passed     boolean not null,
  expected   jsonb,
  actual     jsonb,
  created_at timestamptz not null default now()
);

create table skill_invocations (
  id              uuid primary key,
  run_id          uuid not null references runs(id),
  step_id         uuid not null references steps(id),
  attempt         integer not null,
  agent           text not null,
  skill           text not null,
  idempotency_key text not null,
  gate_id         uuid not null references gates(id),
  policy_status   text not null check (policy_status in ('allow','deny')),
  lock_status     text not null check (lock_status in ('acquired','replayed','conflict','released')),
  input           jsonb not null,
  output          jsonb,
  upstream_ref    text,
  dry_run         boolean not null,
  status          text not null check (status in ('started','succeeded','failed','unknown')),
  error           text,
  created_at      timestamptz not null default now(),
  completed_at    timestamptz,
  unique (step_id, skill, idempotency_key)
);
create index skill_invocations_run on skill_invocations (run_id, created_at);

create table artifacts (
  id                  uuid primary key,
  run_id              uuid not null references runs(id),
  step_id             uuid references steps(id),
  skill_invocation_id uuid references skill_invocations(id),
  kind                text not null,
  name                text not null,
  content             text,
  uri                 text,
  sha256              text not null,
  created_at          timestamptz not null default now()
);
create index artifacts_run on artifacts (run_id);

create table run_events (
  id          bigserial primary key,
  run_id      uuid not null references runs(id),
  step_id     uuid,
  entity      text not null check (entity in ('run','step')),
  from_status text,
  to_status   text not null,
  actor       text not null,
  detail      text,
  trace_id    text,
  created_at  timestamptz not null default now()
);
create index run_events_run on run_events (run_id, id);

-- The durable task queue (a mechanism: it knows no runs beyond the ids it carries).
create table tasks (
  id              uuid primary key,
  kind            text not null,
  run_id          uuid,
  step_id         uuid,
  idempotency_key text not null unique,
  status          text not null check (status in ('ready','claimed','done','failed')),
  run_at          timestamptz not null,
  attempts        integer not null default 0,
  lease_owner     text,
  lease_until     timestamptz,
  last_error      text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create index tasks_ready on tasks (run_at) where status = 'ready';
create index tasks_leases on tasks (lease_until) where status = 'claimed';

-- Audit rows are append-only: the database refuses UPDATE, DELETE and TRUNCATE.
create trigger gates_append_only before update or delete on gates
  for each row execute function worka_refuse_change();
create trigger gates_no_truncate before truncate on gates
  for each statement execute function worka_refuse_change();
create trigger burns_append_only before update or delete on burns
  for each row execute function worka_refuse_change();
create trigger burns_no_truncate before truncate on burns
  for each statement execute function worka_refuse_change();
create trigger run_events_append_only before update or delete on run_events
  for each row execute function worka_refuse_change();
create trigger run_events_no_truncate before truncate on run_events
  for each statement execute function worka_refuse_change();
create trigger policy_manifests_append_only before update or delete on policy_manifests
  for each row execute function worka_refuse_change();
create trigger policy_manifests_no_truncate before truncate on policy_manifests
  for each statement execute function worka_refuse_change();
create trigger policy_activations_append_only before update or delete on policy_activations
  for each row execute function worka_refuse_change();

-- A skill invocation's identity and input never change once recorded; only its outcome is
-- filled in. Deleting one is refused.
create function worka_invocation_input_frozen() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'worka: skill_invocations rows cannot be deleted' using errcode = 'insufficient_privilege';
  end if;
  if new.input is distinct from old.input or new.skill is distinct from old.skill
     or new.run_id is distinct from old.run_id or new.step_id is distinct from old.step_id
     or new.agent is distinct from old.agent or new.gate_id is distinct from old.gate_id
     or new.idempotency_key is distinct from old.idempotency_key then
    raise exception 'worka: skill_invocations input and identity are immutable'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;
create trigger skill_invocations_input_frozen before update or delete on skill_invocations
  for each row execute function worka_invocation_input_frozen();
