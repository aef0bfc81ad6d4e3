/**
 * The operator API (DESIGN §10): create, list, inspect, follow and cancel runs; list skills; read
 * and replace the policy; health, readiness and metrics. Every call but health needs the operator
 * bearer token, compared in constant time. The run detail ({@link
 * dev.worka.gateway.ingress.api.RunStory}) tells the whole story of a run from the database.
 *
 * <p>An adapter, like {@code agent} beside it (neither imports the other): a route parses, calls
 * one operation and switches on its outcome ({@code RunService.Creation}, {@code
 * invocation.ResolveInvocation.Result}, …). It reads skill invocations and model usage from {@code
 * invocation}, never from {@code agent}.
 */
package dev.worka.gateway.ingress.api;
