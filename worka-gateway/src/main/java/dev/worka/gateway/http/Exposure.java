package dev.worka.gateway.http;

/**
 * Where a route may be reached. With one port (no {@code WORKA_INGRESS_PORT}) every route is served
 * there; with an ingress port, a route is served only on the listener its exposure names. A route
 * says nothing else is {@link #PRIVATE}: it is never on the ingress port (deny by default).
 */
enum Exposure {
  /** The operator and agent APIs: only on the main port ({@code WORKA_HTTP_PORT}). The default. */
  PRIVATE,
  /**
   * What the internet must reach (Slack's request URLs, GitHub's webhook): on the ingress port when
   * there is one, and then not on the main port.
   */
  PUBLIC,
  /** Liveness ({@code /healthz}): on every port. */
  EVERYWHERE;

  /** Whether a route of this exposure is served on {@code listener}. */
  boolean servedOn(Listener listener) {
    return switch (listener) {
      case ONLY -> true;
      case MAIN -> this != PUBLIC;
      case INGRESS -> this != PRIVATE;
    };
  }

  /** The listener a request arrived on. */
  enum Listener {
    /** The one port of a Gateway without an ingress port: serves every route. */
    ONLY,
    /** {@code WORKA_HTTP_PORT} beside an ingress port. */
    MAIN,
    /** {@code WORKA_INGRESS_PORT}. */
    INGRESS
  }
}
