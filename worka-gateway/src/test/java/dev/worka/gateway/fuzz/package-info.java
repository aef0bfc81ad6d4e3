/** Fuzz tests of public parsers that take outside input (Jazzer; seeds run in every build). */
package dev.worka.gateway.fuzz;
