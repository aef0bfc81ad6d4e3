package dev.worka.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code worka memory list|forget}: an operator's view of what agents remember (docs/memory.md).
 */
@Command(
    name = "memory",
    description = "What the Gateway remembered of succeeded runs, per agent.",
    subcommands = {MemoryCommand.ListMemories.class, MemoryCommand.Forget.class})
final class MemoryCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "list", description = "AGENT's memories, newest first: id, run, time and text.")
  static final class ListMemories extends WorkaCli.EnvCommand {
    @Parameters(index = "0", paramLabel = "AGENT", description = "the agent (its policy name)")
    String agent;

    @Option(names = "--limit", defaultValue = "50", description = "at most this many (1-200)")
    int limit;

    @Override
    public Integer call() {
      GatewayClient.Answer answer =
          GatewayClient.fromEnvironment(env)
              .get(
                  "/v1/memories?agent="
                      + URLEncoder.encode(agent, StandardCharsets.UTF_8)
                      + "&limit="
                      + limit);
      if (!answer.ok()) {
        err().println("worka: " + answer.error());
        return 2;
      }
      JsonNode memories = answer.body().path("memories");
      out()
          .printf(
              "%d memor%s of %s (%s store)%n",
              memories.size(),
              memories.size() == 1 ? "y" : "ies",
              agent,
              answer.body().path("store").asText());
      for (JsonNode m : memories) {
        out()
            .printf(
                "%s  run %s  %s%n    %s%n",
                m.path("memory_id").asText(),
                m.path("run_id").asText("-"),
                m.path("created_at").asText("-"),
                Story.clip(m.path("text").asText().replace('\n', ' '), 200));
      }
      return 0;
    }
  }

  @Command(
      name = "forget",
      description =
          "Forget a memory: recorded as a memory.forget gate, deleted from the store, never"
              + " given to an agent again.")
  static final class Forget extends WorkaCli.EnvCommand {
    @Parameters(index = "0", paramLabel = "MEMORY_ID", description = "from worka memory list")
    String id;

    @Override
    public Integer call() {
      GatewayClient.Answer answer =
          GatewayClient.fromEnvironment(env)
              .delete("/v1/memories/" + URLEncoder.encode(id, StandardCharsets.UTF_8));
      if (!answer.ok()) {
        err().println("worka: " + answer.error());
        return answer.status() == 404 ? 1 : 2;
      }
      out()
          .printf(
              "memory %s of %s forgotten (gate %s)%s%n",
              answer.body().path("memory_id").asText(),
              answer.body().path("agent").asText(),
              answer.body().path("gate_id").asText(),
              answer.body().path("deleted").asBoolean()
                  ? ""
                  : "; the store did not delete it yet, it is hidden from agents all the same");
      return 0;
    }
  }
}
