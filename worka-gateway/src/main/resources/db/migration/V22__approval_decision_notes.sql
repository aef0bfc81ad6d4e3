-- A GitHub run's approval request is asked in the run's issue (an 'approval:<id>' notification, as
-- for Slack since V21), and its outcome — approved or denied by whom, or expired — is told in the
-- same issue once: a 'decision:<approval id>' notification, written in the transaction that closes
-- the request and sent by the same notification loop (a delivery.post gate per attempt, retried).
alter table run_notifications drop constraint run_notifications_kind_check;
alter table run_notifications add constraint run_notifications_kind_check
  check (kind in ('ack', 'result')
    or kind ~ '^(approval|decision):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$');
