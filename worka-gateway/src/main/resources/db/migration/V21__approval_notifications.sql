-- An approval request of a Slack run is owed a message with Approve/Deny buttons in the run's
-- thread, sent by the same notification loop as acknowledgements and results (a delivery.post gate
-- per attempt, retried): one row per request, its kind 'approval:<approval id>'.
alter table run_notifications drop constraint run_notifications_kind_check;
alter table run_notifications add constraint run_notifications_kind_check
  check (kind in ('ack', 'result') or kind ~ '^approval:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$');
