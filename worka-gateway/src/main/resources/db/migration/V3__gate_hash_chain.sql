-- Tamper-evident audit: every gate carries its place in one chain, the hash of the gate before it
-- and its own hash over its content and that previous hash. The chain head (one row) is locked by
-- each append, which serializes appends so the chain never forks.
alter table gates add column chain_index bigint, add column prev_hash text, add column hash text;
create unique index gates_chain_index on gates (chain_index);

create table audit_chain (
  id         integer primary key check (id = 1),
  length     bigint not null,
  head_hash  text not null
);
insert into audit_chain (id, length, head_hash)
  values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
