/**
 * Worka's configuration: one immutable {@link dev.worka.gateway.config.WorkaConfig} read once from
 * the environment (DESIGN §9) and validated at start with messages that name the variable and the
 * value. Nothing else calls {@code System.getenv}: the composition root hands the same environment
 * map to the few components that look at their own integration's variables (the skill providers).
 * Depends on nothing but the store's URL parser.
 */
package dev.worka.gateway.config;
