package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.worka.protocol.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code worka approvals list|approve|deny} (docs/approvals.md): a thin client of {@code
 * /v1/approvals} with the operator token; {@code list --wait} waits, showing progress, until a
 * request is pending.
 */
@Command(
    name = "approvals",
    description = "Calls held for a person's approval (the policy's skills.SKILL.approval).",
    subcommands = {
      ApprovalsCommand.ListCommand.class,
      ApprovalsCommand.Approve.class,
      ApprovalsCommand.Deny.class
    })
final class ApprovalsCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "list",
      description =
          "Approval requests, newest first: id, status, skill, run, who may decide, until when,"
              + " the input.")
  static final class ListCommand extends WorkaCli.EnvCommand {
    @Option(
        names = "--status",
        description = "pending | approved | denied | expired (default: all)")
    String status;

    @Option(names = "--limit", defaultValue = "50", description = "at most this many (1-500)")
    int limit;

    @Option(
        names = "--wait",
        description = "wait until a request is pending (printing progress), then list the pending")
    boolean await;

    @Option(
        names = "--timeout",
        defaultValue = "10m",
        description = "how long --wait waits (e.g. 30s, 10m); exit 1 when nothing came")
    String timeout;

    @Override
    public Integer call() throws InterruptedException {
      GatewayClient client = GatewayClient.fromEnvironment(env);
      String query = "?limit=" + limit + (status == null ? "" : "&status=" + status);
      if (await) {
        Duration limitWait = dev.worka.gateway.policy.DurationText.parse(timeout).orElse(null);
        if (limitWait == null) {
          err().println("worka: --timeout must be a duration such as 30s or 10m, not " + timeout);
          return 2;
        }
        query = "?limit=" + limit + "&status=pending";
        Instant start = Instant.now();
        Instant said = start;
        err().println("waiting for a pending approval (up to " + timeout + ") …");
        while (true) {
          GatewayClient.Answer answer = client.get("/v1/approvals" + query);
          if (!answer.ok()) {
            err().println("worka: " + answer.error());
            return 2;
          }
          if (answer.body().path("approvals").size() > 0) {
            print(answer.body());
            return 0;
          }
          Instant now = Instant.now();
          if (Duration.between(start, now).compareTo(limitWait) >= 0) {
            err().println("worka: no approval became pending within " + timeout);
            return 1;
          }
          if (Duration.between(said, now).compareTo(Duration.ofSeconds(10)) >= 0) {
            err().println("… still waiting (" + Duration.between(start, now).toSeconds() + "s)");
            said = now;
          }
          Thread.sleep(1000);
        }
      }
      GatewayClient.Answer answer = client.get("/v1/approvals" + query);
      if (!answer.ok()) {
        err().println("worka: " + answer.error());
        return 2;
      }
      print(answer.body());
      return 0;
    }

    private void print(JsonNode body) {
      JsonNode items = body.path("approvals");
      if (items.isEmpty()) {
        out().println("no approvals");
        return;
      }
      for (JsonNode a : items) {
        out()
            .printf(
                "%s  %-8s %s  run %s  approvers %s  %s%n    input %s%n",
                a.path("approval_id").asText(),
                a.path("status").asText(),
                a.path("skill").asText(),
                a.path("run_id").asText(),
                a.path("approvers").toString(),
                a.path("decided_by").isNull()
                    ? "expires " + a.path("expires_at").asText()
                    : "by "
                        + a.path("decided_by").asText()
                        + " at "
                        + a.path("decided_at").asText(),
                Json.write(a.path("input")));
      }
    }
  }

  @Command(
      name = "approve",
      description =
          "Approve a pending request: the Gateway performs exactly the held call, once, and the"
              + " step runs again. Decided as operator.")
  static final class Approve extends WorkaCli.EnvCommand {
    @Parameters(index = "0", paramLabel = "APPROVAL_ID")
    String id;

    @Override
    public Integer call() {
      GatewayClient.Answer answer =
          GatewayClient.fromEnvironment(env)
              .post("/v1/approvals/" + id + "/approve", Map.of(), Map.of());
      if (!answer.ok()) {
        err().println("worka: " + answer.error());
        return answer.status() == 404 || answer.status() == 409 || answer.status() == 403 ? 1 : 2;
      }
      JsonNode call = answer.body().path("call");
      out()
          .printf(
              "approval %s approved by %s; the call was %s%s%n",
              answer.body().path("approval_id").asText(),
              answer.body().path("decided_by").asText(),
              call.path("status").asText("performed before"),
              call.has("invocation_id")
                  ? " (invocation " + call.path("invocation_id").asText() + ")"
                  : "");
      return 0;
    }
  }

  @Command(
      name = "deny",
      description = "Deny a pending request: nothing is performed and its step fails.")
  static final class Deny extends WorkaCli.EnvCommand {
    @Parameters(index = "0", paramLabel = "APPROVAL_ID")
    String id;

    @Option(names = "--reason", description = "why (recorded in the gate)")
    String reason;

    @Override
    public Integer call() {
      Map<String, String> body = new LinkedHashMap<>();
      if (reason != null) {
        body.put("reason", reason);
      }
      GatewayClient.Answer answer =
          GatewayClient.fromEnvironment(env).post("/v1/approvals/" + id + "/deny", body, Map.of());
      if (!answer.ok()) {
        err().println("worka: " + answer.error());
        return answer.status() == 404 || answer.status() == 409 || answer.status() == 403 ? 1 : 2;
      }
      out()
          .printf(
              "approval %s denied by %s%n",
              answer.body().path("approval_id").asText(),
              answer.body().path("decided_by").asText());
      return 0;
    }
  }
}
