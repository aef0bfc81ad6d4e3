/**
 * The live GitHub skills: {@link dev.worka.gateway.skill.github.McpGithubProvider} is an MCP client
 * (the official MCP Java SDK) of a GitHub MCP server — GitHub's hosted one or a self-run
 * github-mcp-server at {@code GITHUB_MCP_URL}, or one started from {@code GITHUB_MCP_COMMAND} over
 * stdio — that offers the {@code github.*} skills of the catalog with the server's own tools.
 *
 * <p>Holds the GitHub token: it goes only into the {@code Authorization} header of the MCP server's
 * URL or into the {@code GITHUB_PERSONAL_ACCESS_TOKEN} variable of the server process it starts,
 * never into a log line, an exception message or an output. A side-effecting call carries the
 * invocation's marker in what it creates, so that an effect whose outcome the Gateway never
 * recorded can be found again ({@code reconcile}).
 *
 * <p>May touch: {@code dev.worka.gateway.skill} (the provider contract, the catalog), {@code
 * dev.worka.protocol} and the MCP SDK. Must not touch the database, the policy, runs or steps: the
 * mediator above has decided and recorded the call before it arrives here.
 */
package dev.worka.gateway.skill.github;
