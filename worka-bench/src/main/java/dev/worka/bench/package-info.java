/**
 * Benchmarks of Worka's hot paths (JMH) and load drivers that run a real Gateway in-process ({@code
 * MediatedCallLoad}). Not part of the shipped jars. Each benchmark's javadoc has the command that
 * runs it; results and their reproduction live in {@code docs/performance.md}. Tests never assert
 * timings; these do the measuring.
 */
package dev.worka.bench;
