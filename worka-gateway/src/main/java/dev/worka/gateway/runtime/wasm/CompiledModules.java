package dev.worka.gateway.runtime.wasm;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.Export;
import com.dylibso.chicory.wasm.types.ExternalType;
import com.dylibso.chicory.wasm.types.Import;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Modules parsed, checked and compiled to JVM bytecode (Chicory's compiler: a loop runs a hundred
 * times faster than in its interpreter), kept by the sha256 of their bytes — the digest the
 * manifest pinned and the runtime checked — for the next attempt of any agent that runs the same
 * bytes. At most {@value #MAX_MODULES}, the least recently used dropped first. A module is refused
 * here when it does not parse, imports anything but functions of {@code wasi_snapshot_preview1} and
 * {@value HostFunctions#MODULE}, or exports no {@code _start} (it must be a WASI command).
 */
final class CompiledModules {
  static final int MAX_MODULES = 32;
  static final String WASI = "wasi_snapshot_preview1";

  /** A module ready to instantiate. */
  record Compiled(WasmModule module, Function<Instance, Machine> machine) {}

  /** Why a module cannot run, in words an operator can act on. */
  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message, null, false, false);
    }
  }

  private final Map<String, Compiled> byDigest =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Compiled> eldest) {
          return size() > MAX_MODULES;
        }
      };

  /** The compiled module of {@code bytes}, whose sha256 is {@code digest}. */
  synchronized Compiled get(String digest, byte[] bytes) throws Refused {
    Compiled known = byDigest.get(digest);
    if (known != null) {
      return known;
    }
    Compiled compiled = compile(bytes);
    byDigest.put(digest, compiled);
    return compiled;
  }

  /** How many compiled modules are kept (tests). */
  synchronized int size() {
    return byDigest.size();
  }

  static Compiled compile(byte[] bytes) throws Refused {
    WasmModule module;
    try {
      module = Parser.parse(bytes);
    } catch (ChicoryException | IllegalArgumentException e) {
      throw new Refused("it is not a valid WebAssembly module (" + e.getMessage() + ")");
    }
    List<String> foreign =
        module.importSection().stream()
            .filter(
                i ->
                    i.importType() != ExternalType.FUNCTION
                        || !(i.module().equals(WASI) || i.module().equals(HostFunctions.MODULE)))
            .map(CompiledModules::describe)
            .toList();
    if (!foreign.isEmpty()) {
      throw new Refused(
          "it imports "
              + foreign
              + "; a module may import only functions of "
              + WASI
              + " and "
              + HostFunctions.MODULE);
    }
    Optional<ExternalType> start = Optional.empty();
    for (int i = 0; i < module.exportSection().exportCount(); i++) {
      Export export = module.exportSection().getExport(i);
      if (export.name().equals("_start")) {
        start = Optional.of(export.exportType());
      }
    }
    if (start.isEmpty() || start.get() != ExternalType.FUNCTION) {
      throw new Refused(
          "it exports no _start function; build it as a WASI command (wasm32-wasi, not a reactor)");
    }
    try {
      return new Compiled(module, MachineFactoryCompiler.compile(module));
    } catch (ChicoryException | IllegalArgumentException | IllegalStateException e) {
      throw new Refused("it could not be compiled (" + e.getMessage() + ")");
    }
  }

  private static String describe(Import i) {
    return i.module()
        + "."
        + i.name()
        + " ("
        + i.importType().name().toLowerCase(java.util.Locale.ROOT)
        + ")";
  }
}
