-- Memory (docs/memory.md): what the Gateway remembers of the work of succeeded runs, one row per
-- succeeded step, in the namespace of the step's agent. Written only by the Gateway after a run
-- succeeded (memory.RememberRun), from the step's cleaned result, cleaned again and size-capped;
-- read by the step envelope of agents granted memory.search (memory.RecallMemories); listed and
-- forgotten by operators. No policy decision reads it.
--
-- (Issue 14 gave this slice the version 10, which V10__invocation_reconciliation already holds;
-- 18.10 keeps the number after every applied migration, so an existing database takes it in order.)
create table memories (
  id         uuid primary key,
  agent      text not null,
  run_id     uuid not null references runs(id),
  step_id    uuid not null references steps(id),
  content    text not null check (length(content) <= 4000),
  sha256     text not null,
  search     tsvector generated always as (to_tsvector('english', content)) stored,
  created_at timestamptz not null
);
-- One memory per step: writing a run's memories again (a retried task) adds nothing.
create unique index memories_step on memories (step_id);
create index memories_agent_created on memories (agent, created_at desc, id);
create index memories_search on memories using gin (search);

-- What operators forgot: the memory's id and a digest of its text (never the text), with the
-- memory.forget gate that allowed it. A forgotten id never reaches a step's context again (also
-- from a store that deletes late, as mem0's platform may), and the same text is not remembered
-- again in that namespace. Append-only.
create table memory_forgets (
  memory_id  text not null,
  agent      text not null,
  sha256     text,
  gate_id    uuid not null references gates(id),
  created_at timestamptz not null
);
create index memory_forgets_id on memory_forgets (memory_id);
create index memory_forgets_agent_sha on memory_forgets (agent, sha256);
create trigger memory_forgets_append_only before update or delete on memory_forgets
  for each row execute function worka_refuse_change();
create trigger memory_forgets_no_truncate before truncate on memory_forgets
  for each statement execute function worka_refuse_change();
