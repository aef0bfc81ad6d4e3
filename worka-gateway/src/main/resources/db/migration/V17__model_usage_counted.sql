-- How a model call's tokens were counted: 'provider' (the usage object of the provider's answer) or
-- 'reservation' (the call's outcome is unknown: its request may have reached the provider but no
-- usable answer came back, so the call is charged everything it had reserved — its input ceiling
-- plus its max_tokens — rather than nothing). Rows written before this column are 'provider'.
alter table model_usage add column counted text not null default 'provider'
  check (counted in ('provider', 'reservation'));
