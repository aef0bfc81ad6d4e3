/**
 * The Gateway's one JSON Schema setup (networknt json-schema-validator, draft 2020-12): every
 * schema it validates with — the protocol's plan and result, skill inputs and outputs, the tool
 * schemas an upstream MCP server sends, the output schemas the MCP SDK checks ({@link
 * dev.worka.gateway.schema.McpSchemaValidator}) — is compiled here, so they all share two
 * guarantees:
 *
 * <ul>
 *   <li>nothing is ever fetched: a schema that names anything outside itself (a foreign {@code
 *       $schema}, an {@code $id}, a {@code $ref}/{@code $dynamicRef} that is not a {@code #}
 *       fragment) is refused before it is compiled, and the validator's loader refuses every
 *       location that is not inside the validator's own jar;
 *   <li>{@code pattern} (and {@code patternProperties}) anchors mean what JSON Schema (ECMA-262)
 *       says: {@code $} is the end of the value, so {@code "a\n"} does not match {@code ^a$} (in
 *       Java's own syntax {@code $} also matches before a final line terminator).
 * </ul>
 */
package dev.worka.gateway.schema;
