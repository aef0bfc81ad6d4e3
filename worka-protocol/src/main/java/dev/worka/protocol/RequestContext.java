package dev.worka.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What the run was asked and where it came from, as a worker may see it. */
public record RequestContext(
    @JsonProperty("text") String text,
    @JsonProperty("source") String source,
    @JsonProperty("requester") String requester,
    @JsonProperty("slack_channel") String slackChannel,
    @JsonProperty("slack_thread_ts") String slackThreadTs) {}
