package dev.worka.gateway;

import com.slack.api.Slack;
import com.slack.api.SlackConfig;
import com.slack.api.methods.MethodsClient;
import dev.worka.gateway.config.ConfigException;
import dev.worka.gateway.config.GatewaySettings;
import dev.worka.gateway.config.GithubSettings;
import dev.worka.gateway.config.SlackSettings;
import dev.worka.gateway.control.RunService;
import dev.worka.gateway.delivery.RunNotifier;
import dev.worka.gateway.delivery.github.GithubNotifier;
import dev.worka.gateway.delivery.slack.SlackNotifier;
import dev.worka.gateway.http.Router;
import dev.worka.gateway.ingress.github.GithubWebhook;
import dev.worka.gateway.ingress.slack.SlackIngress;
import dev.worka.gateway.mediation.Approvals;
import dev.worka.gateway.redaction.Redactor;
import dev.worka.gateway.skill.CatalogOnlyProvider;
import dev.worka.gateway.skill.SideEffectMode;
import dev.worka.gateway.skill.SkillProvider;
import dev.worka.gateway.skill.github.McpGithubProvider;
import dev.worka.gateway.skill.model.AnthropicMessages;
import dev.worka.gateway.skill.slack.SlackProvider;
import dev.worka.gateway.telemetry.Tracing;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the Gateway talks to outside itself, built from the {@link GatewaySettings} read at start:
 * the skill providers (catalog-only, or live GitHub through MCP and live Slack through the Web API
 * with {@code WORKA_SIDE_EFFECTS=live}), the model the model route proxies to, the ingress that
 * starts runs (the GitHub webhook, Slack over HTTP or Socket Mode) and the notifiers that answer
 * them where they came from. Closed with the Gateway: the GitHub MCP session (and a stdio server
 * process), the Slack client and its Socket Mode connection.
 */
final class Integrations implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Integrations.class);

  /** How long one Slack Web API call may take (the SDK client gives up after it). */
  private static final Duration SLACK_CALL_TIMEOUT = Duration.ofSeconds(30);

  private final GatewaySettings settings;
  private final SideEffectMode sideEffects;
  private final CloseInReverse closeables = new CloseInReverse();
  private final List<SkillProvider> providers;
  private final Optional<McpGithubProvider> liveGithub;
  private final Optional<AnthropicMessages> model;
  private Slack slack;
  private SlackIngress slackIngress;

  /**
   * The skill providers and the model client. In live mode with {@code GITHUB_MCP_URL} or {@code
   * GITHUB_MCP_COMMAND} set, GitHub is the live MCP provider (connected here, bounded); otherwise
   * the catalog-only one (dry-run never reaches a provider, so it neither connects nor starts a
   * server process). In live mode with {@code SLACK_BOT_TOKEN} set, {@code slack.*} go through the
   * Web API ({@code SLACK_API_URL}).
   */
  Integrations(GatewaySettings settings, SideEffectMode sideEffects, InstantSource clock) {
    this.settings = settings;
    this.sideEffects = sideEffects;
    GithubSettings github = settings.github();
    SlackSettings slackSettings = settings.slack();
    SkillProvider githubCatalog = CatalogOnlyProvider.github(github.mcp().isPresent());
    SkillProvider slackCatalog = CatalogOnlyProvider.slack(slackSettings.configured());
    if (sideEffects == SideEffectMode.LIVE) {
      liveGithub =
          github
              .mcp()
              .map(
                  endpoint ->
                      new McpGithubProvider(githubCatalog, endpoint, github.callTimeout(), clock));
      liveGithub.ifPresent(closeables::add);
      this.providers =
          List.of(
              liveGithub.<SkillProvider>map(p -> p).orElse(githubCatalog),
              slackSettings.configured()
                  ? new SlackProvider(slackCatalog, slackMethods(), SLACK_CALL_TIMEOUT)
                  : slackCatalog);
    } else {
      liveGithub = Optional.empty();
      this.providers = List.of(githubCatalog, slackCatalog);
    }
    try {
      this.model =
          settings
              .anthropic()
              .map(
                  a -> new AnthropicMessages(a.baseUrl(), a.apiKey(), a.model(), a.callsPerStep()));
    } catch (IllegalArgumentException e) {
      close();
      throw new ConfigException(List.of(e.getMessage()));
    }
    model.ifPresent(
        m -> log.info("model calls of workers go to {} as {}", m.endpoint(), m.model()));
  }

  /** The built-in skill providers, live or catalog-only (see the constructor). */
  List<SkillProvider> skillProviders() {
    return providers;
  }

  /**
   * What {@code /v1/agent/model/v1/messages} proxies to: with {@code WORKA_MODEL=anthropic}, the
   * Messages API at {@code ANTHROPIC_BASE_URL} with {@code ANTHROPIC_API_KEY}; none otherwise.
   */
  Optional<AnthropicMessages> model() {
    return model;
  }

  /**
   * Registers on {@code router} the ingress that starts runs through {@code runs} — the GitHub
   * webhook ({@code GITHUB_WEBHOOK_SECRET}), Slack's HTTP routes ({@code SLACK_SIGNING_SECRET}) —
   * and returns who answers runs where their requests came from, by source (GitHub, Slack), each
   * cleaning what it posts with {@code redactor}; the ingress spans go to {@code tracing}.
   */
  List<RunNotifier> connectIngress(
      Router router,
      RunService runs,
      Approvals approvals,
      Redactor redactor,
      Tracing tracing,
      InstantSource clock) {
    boolean dryRun = sideEffects == SideEffectMode.DRY_RUN;
    List<RunNotifier> notifiers = new ArrayList<>();
    Optional<GithubSettings.Webhook> webhook = settings.github().webhook();
    if (webhook.isPresent()) {
      GithubWebhook github =
          new GithubWebhook(runs, webhook.get().secret(), webhook.get().handle(), tracing);
      github.decideApprovalsWith(approvals); // `/worka approve ID` comments (docs/approvals.md)
      github.register(router);
      GithubNotifier githubNotifier =
          new GithubNotifier(liveGithub.orElse(null), dryRun, redactor, tracing::traceLink);
      githubNotifier.askApprovalsFrom( // approval comments on the run's issue, and their outcome
          id ->
              approvals
                  .find(id)
                  .map(
                      a ->
                          new GithubNotifier.HeldCall(
                              a.agent(),
                              a.skill(),
                              a.inputJson(),
                              a.expiresAt(),
                              a.approvers(),
                              a.status(),
                              a.decidedBy())));
      notifiers.add(githubNotifier);
      log.info(
          "GitHub webhook on POST /github/webhook: comments mentioning @{} start runs{}",
          github.handle(),
          dryRun
              ? " (dry-run: answers are recorded, not posted)"
              : liveGithub.isEmpty()
                  ? " — but GitHub MCP is not configured, so answers cannot be posted"
                  : "");
    }
    SlackSettings slackSettings = settings.slack();
    if (slackSettings.configured()) {
      SlackNotifier slackNotifier =
          new SlackNotifier(slackMethods(), dryRun, redactor, tracing::traceLink);
      slackNotifier.askApprovalsFrom( // approval messages with Approve/Deny buttons
          id ->
              approvals
                  .find(id)
                  .map(
                      a ->
                          new SlackNotifier.ApprovalAsk(
                              a.agent(),
                              a.skill(),
                              a.inputJson(),
                              a.expiresAt(),
                              a.approvers(),
                              a.status(),
                              a.decidedBy(),
                              a.decidedAt())));
      notifiers.add(slackNotifier);
      if (slackSettings.ingress() != SlackSettings.Ingress.NONE) {
        slackIngress =
            new SlackIngress(
                runs,
                slackClient(),
                slackSettings.botToken().get(),
                slackSettings.signingSecret().orElse(null),
                clock,
                tracing);
        closeables.add(slackIngress);
        slackIngress.decideApprovalsWith(approvals); // Approve/Deny clicks (docs/approvals.md)
        if (slackSettings.ingress() == SlackSettings.Ingress.HTTP) {
          slackIngress.register(router);
        }
      }
      log.info(
          "Slack: answers runs in their threads; requests arrive {}",
          switch (slackSettings.ingress()) {
            case HTTP ->
                "over HTTP at "
                    + SlackIngress.EVENTS
                    + ", "
                    + SlackIngress.COMMANDS
                    + ", "
                    + SlackIngress.INTERACTIVITY;
            case SOCKET_MODE -> "over Socket Mode (SLACK_APP_TOKEN)";
            case NONE ->
                "nowhere: set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode) to take requests";
          });
    }
    return notifiers;
  }

  /** Opens Slack's Socket Mode connection when {@code SLACK_APP_TOKEN} asks for it. */
  void startSocketMode() {
    if (slackIngress != null && settings.slack().ingress() == SlackSettings.Ingress.SOCKET_MODE) {
      slackIngress.startSocketMode(settings.slack().appToken().get());
    }
  }

  private MethodsClient slackMethods() {
    return slackClient().methods(settings.slack().botToken().get());
  }

  /**
   * The one Slack SDK client of this Gateway (Web API at {@code SLACK_API_URL}), shared by the
   * Slack skills, the answers and the ingress; made on first use.
   */
  private Slack slackClient() {
    if (slack == null) {
      SlackConfig sdk = new SlackConfig();
      sdk.setMethodsEndpointUrlPrefix(settings.slack().apiUrl().toString());
      sdk.setHttpClientCallTimeoutMillis((int) SLACK_CALL_TIMEOUT.toMillis());
      sdk.setPrettyResponseLoggingEnabled(false);
      slack = Slack.getInstance(sdk);
      closeables.add(slack);
    }
    return slack;
  }

  /** Closes what was opened, the last first. */
  @Override
  public void close() {
    closeables.close();
  }
}
