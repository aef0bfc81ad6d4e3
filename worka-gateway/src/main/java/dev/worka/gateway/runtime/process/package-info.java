/**
 * The {@code process} runtime, the local default (DESIGN §8): one child process per step attempt,
 * in a bubblewrap sandbox where the host allows it.
 *
 * <p>{@link dev.worka.gateway.runtime.process.ProcessRuntime} resolves the agent's command against
 * the installation directory, creates the attempt's own temporary directory (0700) with the token
 * in a 0600 file inside it, gives the worker exactly the agent protocol's variables ({@code
 * WORKA_TOKEN_FILE}, never {@code WORKA_TOKEN}: environment variables leak through {@code /proc})
 * and nothing of the Gateway's environment, merges stdout and stderr into a bounded tail of the
 * last lines, kills the whole process tree at the deadline or on stop, and deletes the directory in
 * every outcome. Where the host has {@code setsid} the worker starts in its own session, so that
 * processes it leaves behind (even re-parented ones) are found through their session id too.
 *
 * <h2>Isolation</h2>
 *
 * <p>When {@code bwrap} (Debian package {@code bubblewrap}) is on the PATH or in {@code /usr/bin}
 * and a trial sandbox starts, checked once per JVM ({@code Isolation}), every worker runs inside
 * one; {@link dev.worka.gateway.runtime.process.ProcessRuntime#isolation()} then says {@code
 * "bubblewrap"}. What the sandbox isolates:
 *
 * <ul>
 *   <li><b>Files.</b> The root is an empty tmpfs, read-only once set up. The worker sees read-only:
 *       {@code /usr}, {@code /opt}, {@code /bin}, {@code /sbin}, {@code /lib*}, a fixed list of
 *       {@code /etc} entries (users, name resolution, dynamic linker, time zone, CA certificates,
 *       alternatives, {@code java*}; not the rest of {@code /etc}), the installation directory, the
 *       installation prefix of an absolute command and the absolute paths its arguments name (each
 *       jar of a class path alone). Read-write: only its own work directory, bound at the same path
 *       so {@code WORKA_TOKEN_FILE} is valid inside. {@code /tmp} is a fresh tmpfs, so the other
 *       attempts' directories and token files, and everything else in the host's {@code /tmp} (e.g.
 *       database sockets), are not there; nor are {@code /home}, {@code /root}, {@code /var},
 *       {@code /srv}, {@code /run}, {@code /sys} and the host's {@code /proc}, except for paths
 *       bound as above (e.g. the jars of a class path under {@code ~/.m2}). The hidden paths the
 *       Gateway passes ({@code WORKA_HOME}: signing key, operator token, embedded database and its
 *       password) are covered by an empty tmpfs (a file by {@code /dev/null}) wherever a bound
 *       directory would show them, and an argument path inside one is not bound (logged). See
 *       {@code SandboxLayout}.
 *   <li><b>Processes.</b> A PID namespace with its own {@code /proc}: the worker cannot see, signal
 *       or read the {@code environ} of the Gateway or any other host process. When the namespace's
 *       first process is killed, the kernel kills every process in it, so nothing escapes the
 *       deadline by re-parenting or {@code setsid}; {@code --die-with-parent} kills the sandbox
 *       when the Gateway's JVM dies (hence {@code Launcher}).
 *   <li><b>Privileges.</b> A user namespace with every capability dropped, no nested user
 *       namespaces (bubblewrap ≥ 0.8), a new session (no {@code TIOCSTI} into the Gateway's
 *       terminal), and its own IPC, UTS and (where available) cgroup namespaces.
 *   <li><b>System calls.</b> A seccomp filter ({@code SeccompFilter}, a deny list with a default of
 *       allow, for x86_64 and aarch64) that bubblewrap loads last: {@code EPERM} for {@code
 *       ptrace}, the keyring, {@code bpf}, {@code perf_event_open}, io_uring, the mount API, kernel
 *       modules, {@code kexec}, namespace calls ({@code clone} with a {@code CLONE_NEW*} flag
 *       included) and the rest of its list; {@code ENOSYS} for {@code clone3}; a call through
 *       another architecture's entry or x32 kills the worker. Where it cannot be applied (another
 *       architecture, a failed trial), a worker that must be sandboxed is not started.
 *   <li><b>Network</b> ({@link dev.worka.gateway.runtime.process.WorkerNetwork}, default {@code
 *       gateway}). A network namespace of its own with only a loopback, where {@link
 *       dev.worka.gateway.runtime.process.GatewayRelay} — a small JVM in front of the worker, which
 *       it starts as its child — listens at the Gateway's port and carries each connection through
 *       a Unix socket of that attempt's own (mounted read-only; a file system socket crosses
 *       network namespaces) to the Gateway's own relay, which connects it to the Gateway's HTTP
 *       port, at most {@code GatewayRelay.MAX_CONNECTIONS_PER_WORKER} (16) at once (one more stops
 *       the worker at its {@code connections} limit): the worker's {@code WORKA_GATEWAY_URL} works
 *       and nothing else is reachable. Needs a bubblewrap that can unshare the network (probed) and
 *       a Gateway URL on {@code 127.0.0.1}/{@code localhost} at a port of 1024 or more; otherwise,
 *       or with {@code host}, the worker shares the host's network. A built-in manifest's command
 *       ({@code bin/worka-agent NAME}) gets no relay JVM: the socket is passed to it as {@code
 *       WORKA_GATEWAY_SOCKET} and the agent's own JVM relays its connections (one JVM start per
 *       attempt instead of two; the relay has no authority, anything in the sandbox can reach the
 *       socket).
 * </ul>
 *
 * <p>What the sandbox does <b>not</b> isolate, yet:
 *
 * <ul>
 *   <li><b>The network, where it is shared</b> (see above): then every loopback service is
 *       reachable, including the embedded PostgreSQL port (which still demands the password kept in
 *       the hidden {@code WORKA_HOME}) and abstract Unix sockets, and so is any address the host
 *       can reach.
 *   <li><b>Disk, and limits the host lacks the means for</b>: the agent's {@code resources} are
 *       enforced by a cgroup per attempt (memory, pids, cpu): cgroup v2 where the Gateway's own
 *       cgroup is delegated to it ({@code UnifiedCgroup}), else v1 where the host mounts those
 *       controllers writable; and by rlimits ({@code RLIMIT_NOFILE}; {@code RLIMIT_DATA} without
 *       the memory controller), a sandboxed worker's files on tmpfs mounts of its {@code disk} size
 *       — see {@code WorkerLimits}; {@code disk} is not enforced for unsandboxed workers, nor are
 *       pids and cpu without their cgroups. A worker that hits its memory or pids limit is stopped
 *       and its attempt ends as {@code LimitReached}.
 *   <li><b>Same kernel, same file owner</b>: the seccomp filter is a deny list (calls it does not
 *       name, a future kernel's included, are allowed); the worker's files are the Gateway user's
 *       on the host, and what is visible (the installation directory, system files) is readable as
 *       far as that user can read it. No home directory nor a parent of one ({@code /root}, {@code
 *       /home}, {@code /home/alice}, {@code /}) is ever bound: an argument naming one is not bound
 *       (logged), an absolute command there brings only its own directory or file, and an
 *       installation directory that is one is refused at start (set {@code WORKA_INSTALL_DIR} to
 *       the installation itself).
 * </ul>
 *
 * <p><b>Fails closed.</b> A worker that must be sandboxed ({@code WORKA_SANDBOX}, {@link
 * dev.worka.gateway.runtime.process.SandboxRequirement}: in {@code live} mode, for every agent an
 * operator declares, with {@code required}) is never started without a working bubblewrap; its
 * attempt fails to start saying what to install.
 *
 * <p><b>Fallback.</b> Without a working bubblewrap (not installed, user namespaces disabled, an old
 * kernel), the other workers (the built-in manifest's agents in {@code dry-run}; every worker with
 * {@code WORKA_SANDBOX=off}, which also skips bubblewrap where it works) run unconfined as the
 * Gateway's user with its file system, {@code /proc} and network, and {@link
 * dev.worka.gateway.runtime.process.ProcessRuntime#isolation()} says {@code "none (<why>)"}; the
 * runtime logs a warning naming the risk and the fix ({@code apt-get install bubblewrap}) when it
 * is created. Only the scrubbed environment, the token file, the deadline and the tree kill hold
 * then; the Kubernetes runtime is the isolated alternative.
 *
 * <p><b>Pre-started built-in agents</b> ({@code WORKA_WORKER_POOL}, off by default; {@link
 * dev.worka.gateway.runtime.process.WorkerPool}): only where the whole sandbox above works, the
 * built-in agents can be started ahead of their attempts with all of it in force but no token; one
 * attempt claims one, and its token reaches it as one line on its standard input.
 */
package dev.worka.gateway.runtime.process;
