package dev.worka.gateway.mediation;

import dev.worka.gateway.policy.StoredPolicy;
import dev.worka.gateway.run.Run;
import dev.worka.gateway.run.Step;
import dev.worka.gateway.token.WorkerClaims;

/**
 * A worker whose token verified and whose step attempt is running: who it is, on what, under which
 * policy. The agent adapters make one ({@code agent.Authenticator}); every decision here is taken
 * for one.
 */
public record Caller(WorkerClaims claims, Run run, Step step, StoredPolicy policy) {
  public String agent() {
    return claims.agent();
  }
}
