/**
 * The PostgreSQL store: where the database is (an embedded server under {@code WORKA_HOME}, or an
 * external one by URL), the connection pool, the versioned migrations (the only schema source, used
 * by tests too), and the transaction helper every repository uses.
 *
 * <p>It knows no runs, steps or policies. Table-owning SQL lives in the package that owns the
 * table, run through {@link dev.worka.gateway.store.Sql}.
 */
package dev.worka.gateway.store;
