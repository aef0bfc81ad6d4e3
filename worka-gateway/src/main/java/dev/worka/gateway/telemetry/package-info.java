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
 */
package dev.worka.gateway.telemetry;
