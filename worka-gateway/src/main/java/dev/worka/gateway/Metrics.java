package dev.worka.gateway;

import dev.worka.gateway.control.RunningWorkers;
import dev.worka.gateway.store.Transactions;
import java.sql.ResultSet;
import java.sql.Statement;
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
          try (Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "select status, count(*) from runs group by status order by status")) {
            while (rs.next()) {
              out.append("worka_runs{status=\"")
                  .append(rs.getString(1))
                  .append("\"} ")
                  .append(rs.getLong(2))
                  .append('\n');
            }
          }
          out.append(
              "# HELP worka_gates_total Gate decisions by status.\n# TYPE worka_gates_total counter\n");
          try (Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "select status, count(*) from gates group by status order by status")) {
            while (rs.next()) {
              out.append("worka_gates_total{status=\"")
                  .append(rs.getString(1))
                  .append("\"} ")
                  .append(rs.getLong(2))
                  .append('\n');
            }
          }
          out.append(
              "# HELP worka_tasks Queue tasks not yet done, by status (a done task is removed).\n# TYPE worka_tasks gauge\n");
          try (Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "select status, count(*) from tasks group by status order by status")) {
            while (rs.next()) {
              out.append("worka_tasks{status=\"")
                  .append(rs.getString(1))
                  .append("\"} ")
                  .append(rs.getLong(2))
                  .append('\n');
            }
          }
          return null;
        });
    out.append(
        "# HELP worka_workers_running Worker processes this Gateway runs now.\n# TYPE worka_workers_running gauge\n");
    out.append("worka_workers_running ").append(workers.count()).append('\n');
    return out.toString();
  }
}
