-- A claim takes ready tasks "order by run_at, created_at": index exactly that order, so a claim
-- reads its batch off the index and stops, instead of sorting every ready task whose run_at ties
-- (a burst enqueued for the same time) on each claim.
drop index tasks_ready;
create index tasks_ready on tasks (run_at, created_at) where status = 'ready';
