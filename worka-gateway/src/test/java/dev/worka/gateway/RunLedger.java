package dev.worka.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.worka.gateway.skill.github.CountingGithubMcpServer;
import dev.worka.gateway.store.DatabaseUrl;
import dev.worka.protocol.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.awaitility.core.ConditionTimeoutException;

/**
 * What the kill, multi-Gateway, outage and chaos tests read back from the database once the dust
 * has settled, and the checks every one of them makes: every run terminal, every run's and step's
 * events a complete chain ending in its current status (nothing lost), no two attempts of a step
 * running at the same time, every effect after an allow gate, no issue created twice.
 */
final class RunLedger {
  static final String GITHUB_TOKEN = "ghp_killtestsgithubtoken0123456789";
  static final Set<String> TERMINAL = Set.of("succeeded", "failed", "rejected", "cancelled");

  private final DataSource dataSource;

  RunLedger(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * The environment of a Gateway process on {@code database} in live mode against {@code server},
   * with {@code policy} as its policy file under {@code home} and short leases (2 s) so a killed
   * Gateway's work comes back quickly.
   */
  static Map<String, String> environment(
      Path home, DatabaseUrl database, CountingGithubMcpServer server, String policy)
      throws Exception {
    Files.createDirectories(home);
    Files.writeString(home.resolve("policy.yaml"), policy);
    Map<String, String> env = new HashMap<>();
    env.put("WORKA_DATABASE_URL", database.jdbcUrl());
    env.put("WORKA_DATABASE_USER", database.user());
    if (database.password() != null) {
      env.put("WORKA_DATABASE_PASSWORD", database.password());
    }
    env.put("WORKA_OPERATOR_TOKEN", TestGateway.OPERATOR_TOKEN);
    env.put("WORKA_POLICY_FILE", home.resolve("policy.yaml").toString());
    env.put("WORKA_INSTALL_DIR", Path.of("..").toAbsolutePath().normalize().toString());
    env.put("WORKA_SIDE_EFFECTS", "live");
    env.put("WORKA_LEASE_SECONDS", "2");
    env.put("WORKA_SKILL_TIMEOUT", "2s");
    env.put("GITHUB_MCP_URL", server.url());
    env.put("GITHUB_TOKEN", GITHUB_TOKEN);
    return env;
  }

  /** The built-in policy for tests, retrying quickly (3 attempts, 100–200 ms backoff). */
  static String quickRetryPolicy(String policy) {
    policy = TestGateway.withLimit(policy, "max_attempts", "3");
    policy = TestGateway.withLimit(policy, "retry_backoff", "100ms");
    return TestGateway.withLimit(policy, "retry_backoff_max", "200ms");
  }

  /** Submits a run through the operator API of {@code gateway}; its id. */
  static String submit(GatewayProcess gateway, String text) {
    TestGateway.Answer a =
        gateway.call(
            "POST",
            "/v1/runs",
            Json.LENIENT.createObjectNode().put("text", text).toString(),
            TestGateway.OPERATOR_TOKEN);
    assertEquals(202, a.status(), a.raw().body());
    return a.body().path("run_id").asText();
  }

  /** Run id → status. */
  Map<String, String> statuses(Collection<String> runIds) throws SQLException {
    Map<String, String> out = new HashMap<>();
    for (List<String> row :
        rows(
            "select id::text, status from runs where id = any(?::uuid[])",
            runIds.toArray(String[]::new))) {
      out.put(row.get(0), row.get(1));
    }
    return out;
  }

  /**
   * Waits (bounded) until every run is terminal; returns the ones that are not when time is up (the
   * caller asserts it empty, so its failure lists them).
   */
  List<String> awaitTerminal(Collection<String> runIds, Duration max) throws SQLException {
    try {
      await("every run terminal")
          .atMost(max)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> open(runIds), List::isEmpty);
    } catch (ConditionTimeoutException timeIsUp) {
      // what is still open is the answer
    }
    return open(runIds);
  }

  /** The runs that are not terminal now, each as {@code id=status}. */
  List<String> open(Collection<String> runIds) throws SQLException {
    Map<String, String> now = statuses(runIds);
    return runIds.stream()
        .filter(id -> !TERMINAL.contains(now.get(id)))
        .map(id -> id + "=" + now.get(id))
        .toList();
  }

  /** Runs that did not succeed, each with its status and error. */
  List<String> notSucceeded(Collection<String> runIds) throws SQLException {
    return rows(
            "select id::text, status, coalesce(error, '') from runs where id = any(?::uuid[]) and status <> 'succeeded'",
            runIds.toArray(String[]::new))
        .stream()
        .map(r -> String.join(" ", r))
        .toList();
  }

  /**
   * Every run's events and every step's events form an unbroken chain (each event starts where the
   * previous one ended; the first has no predecessor) that ends in the status the row holds now: no
   * transition was lost or recorded twice. Returns what breaks the rule.
   */
  List<String> brokenEventChains(Collection<String> runIds) throws SQLException {
    String[] ids = runIds.toArray(String[]::new);
    Map<String, String> current = new HashMap<>();
    for (List<String> r :
        rows("select id::text, status from runs where id = any(?::uuid[])", ids)) {
      current.put(r.get(0), r.get(1));
    }
    for (List<String> r :
        rows("select id::text, status from steps where run_id = any(?::uuid[])", ids)) {
      current.put(r.get(0), r.get(1));
    }
    List<String> problems = new ArrayList<>();
    for (String id : runIds) {
      if (!current.containsKey(id)) {
        problems.add("run " + id + " is missing");
      }
    }
    Map<String, List<List<String>>> chains = new LinkedHashMap<>();
    for (List<String> r :
        rows(
            "select coalesce(step_id, run_id)::text, coalesce(from_status, ''), to_status"
                + " from run_events where run_id = any(?::uuid[]) order by id",
            ids)) {
      chains.computeIfAbsent(r.get(0), k -> new ArrayList<>()).add(r);
    }
    for (String entity : current.keySet()) {
      List<List<String>> chain = chains.getOrDefault(entity, List.of());
      String at = "";
      for (List<String> e : chain) {
        if (!e.get(1).equals(at)) {
          problems.add(
              entity
                  + ": event "
                  + e.get(1)
                  + "→"
                  + e.get(2)
                  + " follows "
                  + (at.isEmpty() ? "nothing" : at));
        }
        at = e.get(2);
      }
      if (!at.equals(current.get(entity))) {
        problems.add(entity + ": events end at '" + at + "' but its row is " + current.get(entity));
      }
    }
    return problems;
  }

  /** One step attempt: when it started, on which Gateway (its queue owner), and when it ended. */
  record Attempt(String stepId, int attempt, String owner, Instant started, Instant ended) {}

  /**
   * Every attempt of every step of these runs, from the step's events: an attempt starts at its
   * {@code queued → running} event ("attempt N on OWNER") and ends at the next event leaving {@code
   * running}.
   */
  List<Attempt> attempts(Collection<String> runIds) throws SQLException {
    List<Attempt> out = new ArrayList<>();
    Map<String, List<Object[]>> byStep = new LinkedHashMap<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select step_id::text, from_status, to_status, coalesce(detail, ''),"
                    + " created_at from run_events where run_id = any(?::uuid[]) and entity = 'step' order by id")) {
      ps.setArray(1, c.createArrayOf("text", runIds.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          byStep
              .computeIfAbsent(rs.getString(1), k -> new ArrayList<>())
              .add(
                  new Object[] {
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getTimestamp(5).toInstant()
                  });
        }
      }
    }
    java.util.regex.Pattern started = java.util.regex.Pattern.compile("attempt (\\d+) on (\\S+)");
    byStep.forEach(
        (step, events) -> {
          Attempt open = null;
          for (Object[] e : events) {
            if ("running".equals(e[0]) && open != null) {
              out.add(
                  new Attempt(step, open.attempt(), open.owner(), open.started(), (Instant) e[3]));
              open = null;
            }
            if ("running".equals(e[1])) {
              java.util.regex.Matcher m = started.matcher((String) e[2]);
              if (!m.find()) {
                throw new AssertionError(
                    "step " + step + " went running without 'attempt N on OWNER': " + e[2]);
              }
              open =
                  new Attempt(step, Integer.parseInt(m.group(1)), m.group(2), (Instant) e[3], null);
            }
          }
          if (open != null) {
            out.add(open);
          }
        });
    return out;
  }

  /**
   * Attempts of one step that ran at the same time: attempt N+1 started before attempt N ended, or
   * attempt N made a request the Gateway recorded (a gate) after attempt N+1 had started.
   */
  List<String> overlappingAttempts(Collection<String> runIds) throws SQLException {
    List<String> problems = new ArrayList<>();
    Map<String, List<Attempt>> byStep =
        attempts(runIds).stream()
            .collect(
                Collectors.groupingBy(Attempt::stepId, LinkedHashMap::new, Collectors.toList()));
    // The last request the Gateway recorded (allowed or denied) per step attempt.
    Map<String, Instant> lastGate = new HashMap<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select step_id::text || '/' || attempt, max(created_at) from gates"
                    + " where run_id = any(?::uuid[]) and step_id is not null and attempt is not null group by 1")) {
      ps.setArray(1, c.createArrayOf("text", runIds.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          lastGate.put(rs.getString(1), rs.getTimestamp(2).toInstant());
        }
      }
    }
    byStep.forEach(
        (step, list) -> {
          for (int i = 0; i < list.size(); i++) {
            Attempt a = list.get(i);
            if (a.attempt() != i + 1) {
              problems.add(
                  "step " + step + ": attempt " + a.attempt() + " is its " + (i + 1) + ". start");
            }
            if (i + 1 < list.size()) {
              Attempt next = list.get(i + 1);
              if (a.ended() == null || next.started().isBefore(a.ended())) {
                problems.add(
                    "step "
                        + step
                        + ": attempt "
                        + next.attempt()
                        + " started at "
                        + next.started()
                        + " before attempt "
                        + a.attempt()
                        + " ended ("
                        + a.ended()
                        + ")");
              }
              Instant gate = lastGate.get(step + "/" + a.attempt());
              if (gate != null && gate.isAfter(next.started())) {
                problems.add(
                    "step "
                        + step
                        + ": attempt "
                        + a.attempt()
                        + " made a request at "
                        + gate
                        + " after attempt "
                        + next.attempt()
                        + " started at "
                        + next.started());
              }
            }
          }
        });
    return problems;
  }

  /**
   * Invocations whose gate is not an allow gate for them (DESIGN §2.4: every effect follows an
   * allow gate).
   */
  List<String> ungatedInvocations(Collection<String> runIds) throws SQLException {
    return rows(
            "select i.id::text from skill_invocations i where i.run_id = any(?::uuid[]) and not exists"
                + " (select 1 from gates g where g.id = i.gate_id and g.status = 'allow' and g.skill = i.skill"
                + " and g.created_at <= coalesce(i.completed_at, g.created_at))",
            runIds.toArray(String[]::new))
        .stream()
        .map(r -> r.get(0))
        .toList();
  }

  /**
   * The issues on the counting server that break the rules: a title created more than once, or an
   * issue whose marker names no succeeded live invocation with an allow gate.
   */
  List<String> issueProblems(CountingGithubMcpServer server, Collection<String> runIds)
      throws SQLException {
    List<String> problems = new ArrayList<>();
    List<CountingGithubMcpServer.Issue> issues = server.issues("acme", "widgets");
    Map<String, Long> byTitle =
        issues.stream()
            .collect(
                Collectors.groupingBy(
                    CountingGithubMcpServer.Issue::title, TreeMap::new, Collectors.counting()));
    byTitle.forEach(
        (title, n) -> {
          if (n > 1) {
            problems.add("issue '" + title + "' created " + n + " times");
          }
        });
    Map<String, String> invocationStatus = new HashMap<>();
    for (List<String> r :
        rows(
            "select i.id::text, i.status || case when g.status = 'allow' then '' else ' ungated' end"
                + " from skill_invocations i join gates g on g.id = i.gate_id where i.skill = 'github.create_issue'"
                + " and not i.dry_run and i.run_id = any(?::uuid[])",
            runIds.toArray(String[]::new))) {
      invocationStatus.put(r.get(0), r.get(1));
    }
    java.util.regex.Pattern marker =
        java.util.regex.Pattern.compile("worka-invocation:([0-9a-f-]{36})");
    for (CountingGithubMcpServer.Issue issue : issues) {
      java.util.regex.Matcher m = marker.matcher(issue.body() == null ? "" : issue.body());
      String status = m.find() ? invocationStatus.get(m.group(1)) : null;
      if (!"succeeded".equals(status)) {
        problems.add("issue '" + issue.title() + "' maps to invocation status " + status);
      }
    }
    return problems;
  }

  /** Queue owners of the attempts of these runs, with how many attempts each started. */
  Map<String, Long> attemptsByOwner(Collection<String> runIds) throws SQLException {
    return attempts(runIds).stream()
        .collect(Collectors.groupingBy(Attempt::owner, TreeMap::new, Collectors.counting()));
  }

  /** Burn kinds of these runs' failed attempts, with how many of each. */
  Map<String, Long> burnsByKind(Collection<String> runIds) throws SQLException {
    return rows(
            "select kind from burns where run_id = any(?::uuid[])", runIds.toArray(String[]::new))
        .stream()
        .collect(Collectors.groupingBy(r -> r.get(0), TreeMap::new, Collectors.counting()));
  }

  List<List<String>> rows(String sql, String[] array) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", array));
      List<List<String>> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<String> row = new ArrayList<>();
          for (int i = 1; i <= n; i++) {
            row.add(rs.getString(i));
          }
          out.add(row);
        }
      }
      return out;
    }
  }
}
