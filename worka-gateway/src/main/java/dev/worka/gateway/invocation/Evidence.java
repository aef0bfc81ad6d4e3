package dev.worka.gateway.invocation;

import dev.worka.gateway.store.Sha256;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A skill call's evidence in {@code artifacts}, written by the statement that records the call's
 * outcome: a side effect's upstream reference (kind {@code upstream_ref}: the or comment's
 * URL, the Slack message's {@code channel/ts}; a read names what it read, which is no effect), and
 * an output larger than {@link #LARGE_OUTPUT_BYTES} (kind {@code output}, its cleaned JSON as
 * content). Each with its SHA-256 and linked to the run, step and invocation. A dry run has no
 * upstream reference, so no {@code upstream_ref} artifact: it did nothing upstream.
 */
final class Evidence {
  /** Outputs above this many bytes (UTF-8 JSON) are also kept as an artifact. */
  static final int LARGE_OUTPUT_BYTES = 8 * 1024;

  /**
   * A CTE to put after one named {@code done} that returns {@code id, run_id, step_id, skill,
   * completed_at} of the invocation just recorded, before the statement's main query; its
   * parameters come after {@code done}'s, in the order {@link #parameters} puts them.
   */
  static final String FROM_DONE =
      " evidence as (insert into artifacts (id, run_id, step_id, skill_invocation_id, kind, name,"
          + " content, uri, sha256, created_at) select gen_random_uuid(), done.run_id, done.step_id,"
          + " done.id, e.kind, done.skill || e.suffix, e.content, e.uri, e.sha256, done.completed_at"
          + " from done cross join (values ('upstream_ref', '', null::text, ?::text, ?::text),"
          + " ('output', ' output', ?::text, null::text, ?::text)) as e(kind, suffix, content, uri,"
          + " sha256) where e.sha256 is not null)";

  private Evidence() {}

  /**
   * {@code before} (the parameters of the {@code done} CTE, nulls allowed) followed by those of
   * {@link #FROM_DONE} for this upstream reference and output.
   */
  static Object[] parameters(String upstreamRef, String outputJson, Object... before) {
    List<Object> all = new ArrayList<>(Arrays.asList(before));
    all.add(upstreamRef);
    all.add(upstreamRef == null ? null : Sha256.hex(upstreamRef));
    boolean large =
        outputJson != null
            && outputJson.getBytes(StandardCharsets.UTF_8).length > LARGE_OUTPUT_BYTES;
    all.add(large ? outputJson : null);
    all.add(large ? Sha256.hex(outputJson) : null);
    return all.toArray();
  }
}
