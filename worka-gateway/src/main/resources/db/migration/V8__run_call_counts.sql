-- The per-run skill-call count moves off the runs row into a row of its own. A skill call then
-- takes its run's row only FOR SHARE (cancellation and other status changes still wait for it),
-- so calls of different steps of one run no longer queue on that row for the whole decision; the
-- count row is locked only for the increment, the gate and the commit.
create table run_call_counts (
  run_id      uuid primary key references runs(id),
  skill_calls integer not null check (skill_calls >= 0)
);
insert into run_call_counts (run_id, skill_calls) select id, skill_calls from runs where skill_calls > 0;
alter table runs drop column skill_calls;
