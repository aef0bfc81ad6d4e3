/**
 * The composition root: {@link dev.worka.gateway.Gateway} builds the whole object graph by hand,
 * from one validated {@link dev.worka.gateway.config.WorkaConfig}, and owns its lifecycle. No other
 * code constructs services; no reflection-driven container.
 */
package dev.worka.gateway;
