-- The operator console's sign-in sessions (console/ConsoleSessions): a browser that proved it holds
-- the operator token gets a random session id in an HttpOnly cookie; only the id's SHA-256 is kept
-- here (a reader of this table cannot sign in with what it sees), with the session's CSRF token and
-- its expiry. Signing out deletes the row; expired rows are deleted when the next session starts.
-- Several Gateways on one database share their sessions.
create table console_sessions (
  id_sha256   text primary key,
  csrf_token  text not null,
  created_at  timestamptz not null,
  expires_at  timestamptz not null
);
create index console_sessions_expiry on console_sessions (expires_at);
