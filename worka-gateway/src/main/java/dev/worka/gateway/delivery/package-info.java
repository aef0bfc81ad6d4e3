/**
 * Answering where a request came from: a {@link dev.worka.gateway.delivery.RunNotifier} per source
 * (Slack, GitHub) acknowledges a run and delivers its cleaned result or refusal there, and {@link
 * dev.worka.gateway.delivery.Notifications} is the durable list of what is owed ({@code
 * run_notifications}). The loop that sends them lives with the other loops in {@code control}.
 * Depends on {@code run} and {@code store}; never on ingress or the loops.
 */
package dev.worka.gateway.delivery;
