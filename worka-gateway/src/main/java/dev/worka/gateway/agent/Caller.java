package dev.worka.gateway.agent;

import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.token.WorkerClaims;

/**
 * A worker whose token verified and whose step attempt is running: who it is, on what, under which
 * policy.
 */
record Caller(WorkerClaims claims, Run run, Step step, StoredPolicy policy) {
  String agent() {
    return claims.agent();
  }
}
