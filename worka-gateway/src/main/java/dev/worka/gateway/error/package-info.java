/**
 * The one unchecked root of Worka's real failures ({@link dev.worka.gateway.error.WorkaException}).
 * Expected outcomes (a deny, a lost race, an invalid plan) are values in their own packages, never
 * exceptions from here.
 */
package dev.worka.gateway.error;
