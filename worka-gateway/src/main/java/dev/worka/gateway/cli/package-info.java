/**
 * The {@code worka} command line: local commands ({@code serve}, {@code migrate}, {@code policy
 * check}) and a thin client of the operator API ({@code run}, {@code runs list}, {@code runs
 * show}). Client commands find the Gateway at {@code WORKA_URL} (default http://127.0.0.1:{@code
 * WORKA_HTTP_PORT}) and the operator token in {@code WORKA_OPERATOR_TOKEN} or the file the Gateway
 * wrote under {@code WORKA_HOME}.
 */
package dev.worka.gateway.cli;
