-- When the Gateway last asked an upstream about an invocation whose outcome was never recorded
-- (status unknown); the periodic reconciliation asks the longest-unasked first.
alter table skill_invocations add column reconciled_at timestamptz;
