/**
 * The HTTP mechanics shared by the operator API and the agent protocol: a Jetty 12 server on
 * virtual threads, a small router, bounded body reading, JSON responses, and the error body of
 * DESIGN §5 ({@code {"error": code, "message": ...}}) for every failure — never a stack trace.
 *
 * <p>Knows no runs, tokens or policies: the packages that serve endpoints register their routes on
 * it.
 */
package dev.worka.gateway.http;
