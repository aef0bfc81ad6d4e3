/**
 * The operator console served at {@code /console}: plain static HTML, CSS and JavaScript (no build
 * step), a sign-in that turns the operator token into a session cookie, and the operator API served
 * to the signed-in browser under {@code /console/api/v1/...} by forwarding to the very routes of
 * {@code /v1} (so the console shows what the API answers, nothing else).
 *
 * <p>May use {@code http} (routes, forwarding) and {@code store} (its session table). It must not
 * read runs, policies or gates itself, except for what the operator API has no route for (the
 * policy versions and their diff, through {@code policy} and {@code cli}'s diff); and it never
 * widens what {@code /v1} accepts: the operator token is only compared, never kept in the browser.
 */
package dev.worka.gateway.console;
