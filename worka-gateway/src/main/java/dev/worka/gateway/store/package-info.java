/**
 * The PostgreSQL store: where the database is (an embedded server under {@code WORKA_HOME}, or an
 * external one by URL), the connection pool, the versioned migrations (the only schema source, used
 * by tests too), and the transaction helper every repository uses.
 *
 * <p>This is the bottom layer: it knows no runs, steps or policies, and nothing here may depend on
 * another Worka package except {@code error}. Table-owning SQL lives in the package that owns the
 * table.
 */
package dev.worka.gateway.store;
