/**
 * Tracing with OpenTelemetry (docs/observability.md): {@link dev.worka.gateway.telemetry.Tracing}
 * sets up the official SDK from the Gateway's {@code OTEL_*} / {@code LANGFUSE_*} settings (or a
 * no-op tracer when no exporter is configured) and starts the spans of a run. A run is processed on
 * several threads and Gateways, so no parent span is held across them: every parent is recreated
 * from stored ids, its span id derived from the run, step and attempt ids ({@link
 * dev.worka.gateway.telemetry.SpanIds}).
 *
 * <p>Informs only: nothing here decides anything, and a span never carries a secret — content goes
 * in cleaned by the caller's cleaner, and not at all with {@code WORKA_TRACE_CONTENT=off}. May use
 * no other Gateway package (its settings, {@link dev.worka.gateway.telemetry.TracingSettings}, are
 * read here and carried by {@code config.GatewaySettings}); never touches the database.
 *
 * <p>Metrics: {@link dev.worka.gateway.telemetry.Metrics} records the events of runs with the
 * OpenTelemetry metrics API (read by {@code GET /metrics} through the SDK's Prometheus reader, and
 * pushed over OTLP with {@code OTEL_METRICS_EXPORTER=otlp}); it travels with the tracer ({@link
 * dev.worka.gateway.telemetry.Tracing#metrics()}). Its label values are short names only; what it
 * observes from the database is read by a supplier the composition root registers.
 */
package dev.worka.gateway.telemetry;
