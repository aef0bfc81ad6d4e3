/**
 * The {@code process} runtime, the local default (DESIGN §8): one child process per step attempt.
 * {@link dev.worka.gateway.runtime.process.ProcessRuntime} resolves the agent's command against the
 * installation directory, creates the attempt's own temporary directory (0700) with the token in a
 * 0600 file inside it, clears the environment and sets exactly the agent protocol's variables
 * ({@code WORKA_TOKEN_FILE}, never {@code WORKA_TOKEN}: environment variables leak through {@code
 * /proc}), merges stdout and stderr into a bounded tail of the last lines, kills the whole process
 * tree at the deadline or on stop, and deletes the directory in every outcome.
 *
 * <p>Where the host has {@code setsid} the worker starts in its own session, so that processes it
 * leaves behind (even re-parented ones) are found through their session id and killed too. This is
 * housekeeping, not a sandbox: the worker runs as the Gateway's user, with its file system and
 * network. Namespace isolation (bubblewrap: its own user, network and mount namespaces, an empty
 * root) and resource limits (cgroups/rlimits) are a later step; the Kubernetes runtime is the
 * isolated option until then.
 *
 * <p>May touch: {@code dev.worka.gateway.runtime}, the operating system's processes and the
 * temporary directory. Must not depend on tokens, skills, runs, plans, the queue or the API.
 */
package dev.worka.gateway.runtime.process;
