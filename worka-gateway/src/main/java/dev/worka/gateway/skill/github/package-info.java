/**
 * The live GitHub skills: {@link dev.worka.gateway.skill.github.McpGithubProvider} is an MCP client
 * (the official MCP Java SDK) of a GitHub MCP server — GitHub's hosted one or a self-run
 * github-mcp-server at {@code GITHUB_MCP_URL}, or one started from {@code GITHUB_MCP_COMMAND} over
 * stdio — that offers the {@code github.*} skills of the catalog with the server's own tools.
 *
 * <p>The provider is four parts: the session and its back-off ({@code McpConnection} keeps one
 * {@code McpSession} open), the skill → tool routes ({@code ToolRoutes}: which tool, what
 * arguments, inert text and the invocation's marker in what is posted), the reconciler ({@code
 * FindEffectByMarker}: the issue or comment carrying a marker, for a call whose answer was lost),
 * and the failure classifier ({@code FailureClassifier}: retryable or not, an unknown outcome or a
 * failure, the message cleaned of the token), tested against a table of upstream errors. {@link
 * dev.worka.gateway.delivery.github.GithubNotifier} answers GitHub-started runs through the same
 * session.
 *
 * <p>Holds the GitHub token: it goes only into the {@code Authorization} header of the MCP server's
 * URL or into the {@code GITHUB_PERSONAL_ACCESS_TOKEN} variable of the server process it starts,
 * never into a log line, an exception message or an output. A side-effecting call carries the
 * invocation's marker in what it creates, so that an effect whose outcome the Gateway never
 * recorded can be found again ({@code reconcile}).
 *
 * <p>It does not touch the database, the policy, runs or steps: the mediator above has decided and
 * recorded the call before it arrives here.
 */
package dev.worka.gateway.skill.github;
