package dev.worka.agents.model;

/**
 * Where an agent notes the spans of its calls to the Gateway (a model call, say) while a step runs:
 * plain records in memory, exported once the step's work is done (docs/observability.md, "The
 * built-in agents' spans"). Never give a span the token or any other secret.
 */
public interface CallSpans {
  /** Starts a span, a child of the step's span. */
  Call start(String name);

  /** One call's span; {@link #end()} once. */
  interface Call {
    Call attribute(String key, String value);

    Call attribute(String key, long value);

    /** Marks the call failed, with {@code message} (no secret in it). */
    Call failed(String message);

    void end();
  }

  /** Notes nothing. */
  CallSpans NONE =
      name ->
          new Call() {
            @Override
            public Call attribute(String key, String value) {
              return this;
            }

            @Override
            public Call attribute(String key, long value) {
              return this;
            }

            @Override
            public Call failed(String message) {
              return this;
            }

            @Override
            public void end() {}
          };
}
