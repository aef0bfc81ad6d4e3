-- What the Gateway cleaned out of an agent's result or a skill's output (secrets redacted,
-- broadcast mentions neutralized, invisible characters removed), counted by kind.
alter table steps add column cleaning jsonb not null default '{}'::jsonb;
alter table skill_invocations add column cleaning jsonb not null default '{}'::jsonb;
