/**
 * The {@code wasm} runtime (DESIGN §8): a step attempt's worker is a WASI preview 1 module run in
 * the Gateway's process by Chicory, a pure-Java WebAssembly runtime, compiled to JVM bytecode once
 * per module digest. {@code WasmRuntime} checks the module's bytes against the manifest's {@code
 * module_sha256} and starts a {@code WasmWorker}; the module sees no filesystem, network,
 * environment or clock; its stdin is the step envelope, its stdout the result, and its only way to
 * the Gateway is the import module {@code worka} ({@code HostFunctions}), whose calls are the agent
 * API's routes without HTTP ({@code AgentCalls}, implemented by the {@code agent} adapters). Its
 * limits: linear memory ({@code BoundedMemory}), the deadline (an interrupt), stdout/stderr bytes
 * ({@code ModuleOutput}).
 *
 * <p>It may use {@code runtime} and {@code policy} (the launch, the runtime spec, resources); it
 * never touches the database, tokens or the mediation decisions itself — whatever a module asks
 * goes through {@code AgentCalls}, as an HTTP agent's request would.
 */
package dev.worka.gateway.runtime.wasm;
