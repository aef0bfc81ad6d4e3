/**
 * {@code runtime: kubernetes} (DESIGN §8): each step attempt's worker is a {@code batch/v1} Job in
 * one namespace, created through the official fabric8 client: the agent's image run as it is, as a
 * non-root user on a read-only root filesystem with every capability dropped, the runtime's default
 * seccomp profile, no service-account token, the agent's resources as requests and limits, and the
 * step token in a Secret owned by the Job, mounted as the file {@code WORKA_TOKEN_FILE} names
 * ({@link dev.worka.gateway.runtime.kubernetes.JobManifest}). An informer on the Gateway's Jobs
 * turns each Job's end into the attempt's outcome ({@link
 * dev.worka.gateway.runtime.kubernetes.KubernetesWorker}); Jobs are deleted once their outcome is
 * known, and those a Gateway that stopped left behind are found by their labels and deleted.
 *
 * <p>May use {@code runtime} (the seam) and {@code policy} (the runtime spec, the resources). It
 * never reads the database itself (whether an attempt still runs is asked through {@link
 * dev.worka.gateway.runtime.kubernetes.KubernetesRuntime.AttemptsRunning}), never mints tokens, and
 * never creates anything but the attempt's Job and Secret: the worker egress NetworkPolicy, the
 * Role and the namespace are the installation's (the Helm chart's), so the Gateway's Role needs
 * only jobs, secrets, pods and pods/log in its namespace.
 */
package dev.worka.gateway.runtime.kubernetes;
