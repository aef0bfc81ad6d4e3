-- Counting an attempt's denials (to end attempts that flood the audit trail) reads gates by step.
create index gates_step_attempt on gates (step_id, attempt) where status = 'deny';
