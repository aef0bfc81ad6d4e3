package dev.worka.gateway;

import dev.worka.gateway.control.RunningWorkers;
import dev.worka.gateway.store.Sql;
import dev.worka.gateway.store.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;

/** {@code GET /metrics} in Prometheus text format, read from the database and this process. */
final class Metrics {
  private final DataSource dataSource;
  private final RunningWorkers workers;

  Metrics(DataSource dataSource, RunningWorkers workers) {
    this.dataSource = dataSource;
    this.workers = workers;
  }

  String render() {
    StringBuilder out = new StringBuilder();
    out.append("# HELP worka_runs Runs by status.\n# TYPE worka_runs gauge\n");
    Transactions.withConnection(
        dataSource,
        c -> {
          countByStatus(
              c,
              "select status, count(*) from runs group by status order by status",
              "worka_runs",
              out);
          out.append(
              "# HELP worka_gates_total Gate decisions by status.\n# TYPE worka_gates_total counter\n");
          countByStatus(
              c,
              "select status, count(*) from gates group by status order by status",
              "worka_gates_total",
              out);
          out.append(
              "# HELP worka_tasks Queue tasks not yet done, by status (a done task is removed).\n# TYPE worka_tasks gauge\n");
          countByStatus(
              c,
              "select status, count(*) from tasks group by status order by status",
              "worka_tasks",
              out);
          return null;
        });
    out.append(
        "# HELP worka_workers_running Worker processes this Gateway runs now.\n# TYPE worka_workers_running gauge\n");
    out.append("worka_workers_running ").append(workers.count()).append('\n');
    return out.toString();
  }

  /** One line per status of {@code sql}'s (status, count) rows, as {@code metric{status="…"} n}. */
  private static void countByStatus(Connection c, String sql, String metric, StringBuilder out)
      throws SQLException {
    for (Map.Entry<String, Long> row :
        Sql.list(c, sql, rs -> Map.entry(rs.getString(1), rs.getLong(2)))) {
      out.append(metric)
          .append("{status=\"")
          .append(row.getKey())
          .append("\"} ")
          .append(row.getValue())
          .append('\n');
    }
  }
}
