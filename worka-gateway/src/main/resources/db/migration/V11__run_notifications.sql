-- What Worka owes the place a request came from (a Slack thread, a GitHub issue): an
-- acknowledgement when the run is accepted and its result (or refusal) when it ends. Written in
-- the transaction that creates or ends the run, sent by the Gateway's notification loop, retried
-- with backoff; a notification that keeps failing ends 'failed' with a burn.
create table run_notifications (
  run_id          uuid not null references runs(id),
  kind            text not null check (kind in ('ack', 'result')),
  source          text not null,
  status          text not null check (status in ('pending', 'sent', 'failed')),
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null,
  claimed_by      text,
  claimed_until   timestamptz,
  last_error      text,
  upstream_ref    text,
  created_at      timestamptz not null,
  sent_at         timestamptz,
  primary key (run_id, kind)
);
create index run_notifications_due on run_notifications (next_attempt_at) where status = 'pending';
