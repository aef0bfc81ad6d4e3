/**
 * Answering where a request came from, in one place: the outbox ({@link
 * dev.worka.gateway.delivery.RunNotifications}, {@code run_notifications}: what each run owes,
 * written with the run's creation or end through {@code run.RunOutbox}), the loop that sends it
 * ({@link dev.worka.gateway.delivery.NotifyRuns}), the {@code delivery.post} gate's rule ({@link
 * dev.worka.gateway.delivery.DeliveryPolicy}) and the short public reason a failed run's answer
 * gives ({@link dev.worka.gateway.delivery.PublicReason}). A {@link
 * dev.worka.gateway.delivery.RunNotifier} per source posts the answers: {@code delivery.slack} and
 * {@code delivery.github}.
 */
package dev.worka.gateway.delivery;
