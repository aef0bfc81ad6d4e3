/**
 * Benchmarks of Worka's hot paths (JMH) and, later, load drivers. Not part of the shipped jars.
 * Each benchmark's javadoc has the command that runs it; results and their reproduction live in
 * {@code docs/performance.md}. Tests never assert timings; these do the measuring.
 */
package dev.worka.bench;
