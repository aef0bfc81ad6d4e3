/**
 * Answers runs that came from GitHub with comments on the issue or pull request they came from:
 * {@link dev.worka.gateway.delivery.github.GithubNotifier} is the {@code github} {@link
 * dev.worka.gateway.delivery.RunNotifier}, posting through the Gateway's GitHub MCP session ({@code
 * add_issue_comment}) and looking for its marker first so an answer is posted once.
 */
package dev.worka.gateway.delivery.github;
