/**
 * Worka's configuration, read once from the environment (DESIGN §9) and validated at start with
 * messages that name the variable and the value. {@link dev.worka.gateway.config.GatewaySettings}
 * is the one settings record a Gateway is built from: the core {@link
 * dev.worka.gateway.config.WorkaConfig} and the integrations' settings ({@link
 * dev.worka.gateway.config.HostSettings}, {@link dev.worka.gateway.config.SlackSettings}, {@link
 * dev.worka.gateway.config.GithubSettings}, {@link dev.worka.gateway.config.AnthropicSettings}, the
 * workers' network), every problem of all of them gathered into one {@link
 * dev.worka.gateway.config.ConfigException}. Nothing else reads the environment: the integrations
 * are built from these records.
 *
 * <p>Its records hold the value types of what they configure (the database URL, the MCP endpoint,
 * the model's defaults, the worker network); it starts nothing and opens no connection.
 */
package dev.worka.gateway.config;
