-- Skill-call limits are checked against counters on the run and step rows (already locked by the
-- decision), not by counting a growing skill_invocations table.
alter table runs add column skill_calls integer not null default 0;
alter table steps add column skill_calls integer not null default 0;
update runs r set skill_calls = (select count(*) from skill_invocations i where i.run_id = r.id);
update steps s set skill_calls = (select count(*) from skill_invocations i where i.step_id = s.id);

-- A decision writes the invocation first and its gate last, so the gate chain's head lock is held
-- only for the gate itself and the commit; the references are checked at commit.
alter table skill_invocations alter constraint skill_invocations_gate_id_fkey deferrable initially deferred;
alter table invocation_lock_events alter constraint invocation_lock_events_gate_id_fkey deferrable initially deferred;
