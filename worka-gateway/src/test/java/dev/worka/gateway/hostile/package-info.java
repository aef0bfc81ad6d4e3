/**
 * The hostile-agent suite: {@link dev.worka.gateway.hostile.HostileWorker}, a worker process that
 * attacks the Gateway through the agent protocol from inside a real step, the {@link
 * dev.worka.gateway.hostile.Playbook} of its attempts and the answers they must get, and {@link
 * dev.worka.gateway.hostile.HostileAgentSuiteTest}, which runs it against a real Gateway and checks
 * its reports against the recorded story of every run involved.
 */
package dev.worka.gateway.hostile;
