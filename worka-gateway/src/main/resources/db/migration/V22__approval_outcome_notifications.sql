-- An approval whose request was asked (a Slack message with buttons, a GitHub issue comment) owes
-- that place its outcome once it is decided or expires, wherever that happened (a click, a
-- '/worka approve' comment, the API, the CLI, the console, the expiry sweep): the Slack message is
-- updated (chat.update: who decided, or that it expired; buttons removed), the GitHub issue gets a
-- comment, by the notification loop with its retries. One row per request, its kind 'approval_outcome:<id>',
-- written in the transaction that closes the request.
alter table run_notifications drop constraint run_notifications_kind_check;
alter table run_notifications add constraint run_notifications_kind_check
  check (kind in ('ack', 'result')
    or kind ~ '^approval(_outcome)?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$');
