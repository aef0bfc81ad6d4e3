package dev.worka.gateway.policy;

import static dev.worka.gateway.policy.PolicyCompilerTest.PLANNER;
import static dev.worka.gateway.policy.PolicyCompilerTest.assertError;
import static dev.worka.gateway.policy.PolicyCompilerTest.compiled;
import static dev.worka.gateway.policy.PolicyCompilerTest.errors;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.worka.gateway.run.RunSource;
import dev.worka.protocol.Json;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The manifest's {@code ingress:}: compiled strictly, stored, and decided on. */
class IngressPolicyTest {

  private static IngressPolicy ingress(String section) {
    return compiled(PLANNER + section).ingress();
  }

  @Test
  void absentItIsTheDefaultsAndTheBuiltInStatesExactlyThem() {
    assertEquals(IngressPolicy.DEFAULTS, compiled(PLANNER).ingress());
    assertEquals(IngressPolicy.DEFAULTS, ingress("ingress:\n"));
    assertEquals(IngressPolicy.DEFAULTS, ingress("ingress: {github: {}, slack: {}, quotas: {}}\n"));
    assertEquals(
        List.of("OWNER", "MEMBER", "COLLABORATOR"),
        IngressPolicy.DEFAULTS.github().authorAssociations());
    assertEquals(Optional.empty(), IngressPolicy.DEFAULTS.github().repositories());
    assertEquals(Optional.empty(), IngressPolicy.DEFAULTS.slack().teams());
    assertEquals(new IngressPolicy.Quotas(20, 3), IngressPolicy.DEFAULTS.quotas());
    assertEquals(
        IngressPolicy.DEFAULTS,
        BuiltinPolicy.compiled().ingress(),
        "the built-in manifest writes the defaults out, with comments");
    assertTrue(BuiltinPolicy.source().contains("\ningress:\n"));
  }

  @Test
  void everyKeyOfTheContractCompiles() {
    IngressPolicy i =
        ingress(
            """
        ingress:
          github:
            author_associations: [OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR]
            repositories: [acme/widgets, acme/docs]
          slack:
            teams: [T0123ABCD, E0ORG1]
            channels: [C0123ABCD, G0PRIVATE, D0DIRECT]
            users: [U0123ABCD, W0GRID1]
          quotas:
            runs_per_requester_per_hour: 50
            concurrent_runs_per_requester: 5
        """);
    assertEquals(
        List.of("OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR"), i.github().authorAssociations());
    assertEquals(Optional.of(List.of("acme/widgets", "acme/docs")), i.github().repositories());
    assertEquals(Optional.of(List.of("T0123ABCD", "E0ORG1")), i.slack().teams());
    assertEquals(Optional.of(List.of("C0123ABCD", "G0PRIVATE", "D0DIRECT")), i.slack().channels());
    assertEquals(Optional.of(List.of("U0123ABCD", "W0GRID1")), i.slack().users());
    assertEquals(new IngressPolicy.Quotas(50, 5), i.quotas());
    assertEquals(
        Optional.of(List.of()),
        ingress("ingress: {slack: {users: []}}\n").slack().users(),
        "an empty list is a list: it refuses everyone");
  }

  @Test
  void mistakesAreNamedWithTheirPath() {
    assertError(
        PLANNER + "ingress: {gitbub: {}}\n",
        "ingress.gitbub: unknown key (expected github, slack, quotas)");
    assertError(
        PLANNER + "ingress: {github: {author_association: [OWNER]}}\n",
        "ingress.github.author_association: unknown key (expected author_associations, repositories)");
    assertError(
        PLANNER + "ingress: {slack: {team: [T0A]}}\n",
        "ingress.slack.team: unknown key (expected teams, channels, users)");
    assertError(
        PLANNER + "ingress: {quotas: {runs_per_hour: 3}}\n",
        "ingress.quotas.runs_per_hour: unknown key (expected runs_per_requester_per_hour,"
            + " concurrent_runs_per_requester)");
    assertError(
        PLANNER + "ingress: [github]\n",
        "ingress: expected a mapping (github, slack, quotas), found a list");
    assertError(
        PLANNER + "ingress: {github: [OWNER]}\n",
        "ingress.github: expected a mapping (author_associations, repositories), found a list");
    assertError(
        PLANNER + "ingress: {github: {author_associations: [OWNER, ADMIN]}}\n",
        "ingress.github.author_associations[1]: 'ADMIN' is not an author association (one of OWNER, MEMBER,"
            + " COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN, NONE, upper-case as"
            + " GitHub sends them)");
    assertError(
        PLANNER + "ingress: {github: {author_associations: [member]}}\n",
        "ingress.github.author_associations[0]: 'member' is not an author association (one of OWNER, MEMBER,"
            + " COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN, NONE, upper-case as"
            + " GitHub sends them)");
    assertError(
        PLANNER + "ingress: {github: {author_associations: [OWNER, OWNER]}}\n",
        "ingress.github.author_associations[1]: OWNER is listed twice");
    assertError(
        PLANNER + "ingress: {github: {repositories: [widgets]}}\n",
        "ingress.github.repositories[0]: 'widgets' is not a repository as owner/name (e.g. acme/widgets)");
    assertError(
        PLANNER + "ingress: {github: {repositories: \"acme/widgets\"}}\n",
        "ingress.github.repositories: expected a list, found the string 'acme/widgets'");
    assertError(
        PLANNER + "ingress: {github: {repositories: }}\n",
        "ingress.github.repositories: expected a list, found nothing (remove the key for no restriction,"
            + " or write [] to refuse everyone)");
    assertError(
        PLANNER + "ingress: {slack: {teams: [acme]}}\n",
        "ingress.slack.teams[0]: 'acme' is not a Slack workspace (team) id such as T0123ABCD, or an"
            + " Enterprise Grid organization id (E…)");
    assertError(
        PLANNER + "ingress: {slack: {channels: ['#general']}}\n",
        "ingress.slack.channels[0]: '#general' is not a Slack conversation id such as C0123ABCD (channels C…,"
            + " private channels G…, direct messages D…)");
    assertError(
        PLANNER + "ingress: {slack: {users: ['@alice']}}\n",
        "ingress.slack.users[0]: '@alice' is not a Slack user id such as U0123ABCD (or W… in Enterprise Grid)");
    assertError(
        PLANNER + "ingress: {quotas: {runs_per_requester_per_hour: 0}}\n",
        "ingress.quotas.runs_per_requester_per_hour: 0 is out of bounds (1 to 10000)");
    assertError(
        PLANNER + "ingress: {quotas: {concurrent_runs_per_requester: 1001}}\n",
        "ingress.quotas.concurrent_runs_per_requester: 1001 is out of bounds (1 to 1000)");
    assertError(
        PLANNER + "ingress: {quotas: {concurrent_runs_per_requester: '3'}}\n",
        "ingress.quotas.concurrent_runs_per_requester: expected a whole number from 1 to 1000, found the string"
            + " '3'");
    assertEquals(
        3,
        errors(PLANNER + "ingress: {slack: {teams: [x], channels: [y], users: [z]}}\n").size(),
        "every mistake is reported, not only the first");
  }

  @Test
  void itIsStoredOnlyWhenNotTheDefaultsAndReadBackEqual() throws Exception {
    JsonNode builtin = Json.STRICT.readTree(BuiltinPolicy.compiled().toJson());
    assertFalse(
        builtin.has("ingress"),
        "a manifest with the default ingress compiles to the row it always did");

    CompiledPolicy stated =
        compiled(
            PLANNER
                + """
        ingress:
          github: {repositories: [acme/widgets]}
          slack: {teams: [T0A1], users: []}
          quotas: {concurrent_runs_per_requester: 1}
        """);
    JsonNode json = Json.STRICT.readTree(stated.toJson());
    assertEquals(
        "[\"OWNER\",\"MEMBER\",\"COLLABORATOR\"]",
        json.at("/ingress/github/author_associations").toString());
    assertEquals("[\"acme/widgets\"]", json.at("/ingress/github/repositories").toString());
    assertEquals("[\"T0A1\"]", json.at("/ingress/slack/teams").toString());
    assertEquals(
        "[]",
        json.at("/ingress/slack/users").toString(),
        "an empty list is kept: it refuses everyone");
    assertTrue(json.at("/ingress/slack/channels").isMissingNode(), "an absent list stays absent");
    assertEquals(20, json.at("/ingress/quotas/runs_per_requester_per_hour").intValue());
    assertEquals(1, json.at("/ingress/quotas/concurrent_runs_per_requester").intValue());
    assertEquals(stated, CompiledPolicy.fromJson(stated.toJson()));
    assertEquals(stated.toJson(), CompiledPolicy.fromJson(stated.toJson()).toJson());

    ObjectNode unknown = (ObjectNode) Json.STRICT.readTree(stated.toJson());
    ((ObjectNode) unknown.get("ingress").get("slack")).putArray("guests");
    assertThrows(
        IllegalArgumentException.class,
        () -> CompiledPolicy.fromJson(unknown.toString()),
        "a key this version does not know is refused, never ignored");
  }

  // ---------------------------------------------------------------------------------------------
  // Decisions

  private static Requester.GithubCommenter commenter(
      String login, String association, String repository) {
    return new Requester.GithubCommenter(login, association, repository);
  }

  @Test
  void githubAdmitsByAssociationAndRepository() {
    IngressPolicy d = IngressPolicy.DEFAULTS;
    for (String ok : List.of("OWNER", "MEMBER", "COLLABORATOR")) {
      assertInstanceOf(Decision.Allow.class, d.admit(commenter("octo", ok, "acme/widgets")), ok);
    }
    for (String stranger :
        List.of("CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE")) {
      Decision no = d.admit(commenter("mallory", stranger, "acme/widgets"));
      assertInstanceOf(Decision.Deny.class, no, stranger);
      assertEquals(
          "github:mallory is "
              + stranger
              + " on acme/widgets; ingress.github.author_associations allows"
              + " [OWNER, MEMBER, COLLABORATOR]",
          no.reason());
    }
    assertInstanceOf(
        Decision.Deny.class,
        d.admit(commenter("mallory", null, "acme/widgets")),
        "a delivery without author_association is a stranger's");
    assertTrue(d.admit(commenter("mallory", null, "acme/widgets")).reason().contains("is NONE"));

    IngressPolicy repos = ingress("ingress: {github: {repositories: [Acme/Widgets]}}\n");
    assertInstanceOf(
        Decision.Allow.class,
        repos.admit(commenter("octo", "OWNER", "acme/widgets")),
        "repositories are compared without case, as GitHub names them");
    Decision elsewhere = repos.admit(commenter("octo", "OWNER", "evil/widgets"));
    assertEquals(
        "github:octo commented on evil/widgets, which is not in ingress.github.repositories"
            + " [Acme/Widgets]",
        elsewhere.reason());
    assertFalse(elsewhere.allowed());
  }

  @Test
  void slackAdmitsByWorkspaceChannelAndUser() {
    IngressPolicy d = IngressPolicy.DEFAULTS;
    assertTrue(
        d.admit(new Requester.SlackUser("U0ALICE", "T0HOME", "T0HOME", "C0DEV", false)).allowed());
    Decision guest =
        d.admit(new Requester.SlackUser("U0GUEST", "T0PARTNER", "T0HOME", "C0SHARED", false));
    assertEquals(
        "slack:U0GUEST belongs to workspace T0PARTNER, not one that may ask: ingress.slack.teams is not"
            + " set, so only this bot's own workspace T0HOME may ask",
        guest.reason());
    assertFalse(guest.allowed());
    Decision unknown =
        d.admit(new Requester.SlackUser("U0GUEST", null, "T0HOME", "C0SHARED", false));
    assertFalse(unknown.allowed(), "a workspace the request does not name is not the bot's");
    assertTrue(unknown.reason().contains("does not say which workspace"), unknown.reason());
    assertFalse(
        d.admit(new Requester.SlackUser("U0ALICE", "T0HOME", null, "C0DEV", false)).allowed(),
        "no bot workspace known: nobody's matches");

    IngressPolicy listed =
        ingress(
            "ingress: {slack: {teams: [T0HOME, T0PARTNER], channels: [C0SHARED],"
                + " users: [U0GUEST]}}\n");
    assertTrue(
        listed
            .admit(new Requester.SlackUser("U0GUEST", "T0PARTNER", "T0HOME", "C0SHARED", false))
            .allowed());
    assertEquals(
        "slack:U0GUEST asked in C0DEV, which is not in ingress.slack.channels [C0SHARED]",
        listed
            .admit(new Requester.SlackUser("U0GUEST", "T0PARTNER", "T0HOME", "C0DEV", false))
            .reason());
    assertEquals(
        "slack:U0ALICE is not in ingress.slack.users [U0GUEST]",
        listed
            .admit(new Requester.SlackUser("U0ALICE", "T0HOME", "T0HOME", "C0SHARED", false))
            .reason());
    assertFalse(
        listed
            .admit(new Requester.SlackUser("U0GUEST", "T0ELSE", "T0HOME", "C0SHARED", false))
            .allowed());
  }

  @Test
  void aGuestOfTheWorkspaceAsksOnlyWhenListed() {
    Decision guest =
        IngressPolicy.DEFAULTS.admit(
            new Requester.SlackUser("U0GUEST", "T0HOME", "T0HOME", "C0DEV", true));
    assertEquals(
        "slack:U0GUEST is a guest of workspace T0HOME; a guest may ask only when listed in"
            + " ingress.slack.users",
        guest.reason());
    assertFalse(guest.allowed());
    Decision unknown =
        IngressPolicy.DEFAULTS.admit(
            new Requester.SlackUser("U0ALICE", "T0HOME", "T0HOME", "C0DEV", null));
    assertFalse(unknown.allowed(), "Slack could not say: fail closed");
    assertTrue(
        unknown.reason().startsWith("could not tell whether slack:U0ALICE is a guest"),
        unknown.reason());
    IngressPolicy listed = ingress("ingress: {slack: {users: [U0GUEST]}}\n");
    assertTrue(
        listed
            .admit(new Requester.SlackUser("U0GUEST", "T0HOME", "T0HOME", "C0DEV", true))
            .allowed(),
        "an operator lets a guest in by naming it");
    assertTrue(
        listed
            .admit(new Requester.SlackUser("U0GUEST", "T0HOME", "T0HOME", "C0DEV", null))
            .allowed());
  }

  @Test
  void theOperatorIsAdmittedAndItsOwnRequestsAreNotCounted() {
    Requester.Operator self = new Requester.Operator(RunSource.API, null);
    assertTrue(IngressPolicy.DEFAULTS.admit(self).allowed());
    assertEquals("api:operator", self.subject());
    assertFalse(self.counted());
    Requester.Operator alice = new Requester.Operator(RunSource.CLI, "alice");
    assertEquals("cli:alice", alice.subject());
    assertTrue(alice.counted());
    assertThrows(
        IllegalArgumentException.class,
        () -> new Requester.Operator(RunSource.SLACK, "U0A"),
        "slack and github requests carry their verified facts, never an operator's");
  }
}
