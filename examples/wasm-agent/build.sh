#!/bin/sh
# Builds echo_agent.wasm (a WASI preview 1 command module) from echo_agent.c and prints its sha256,
# the module_sha256 a manifest that runs it must state.
#
# Needs clang, lld and a wasm32-wasi libc; on Debian/Ubuntu:
#   apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
# (another clang works too: pass CC=clang-17 and, where the libc is elsewhere, SYSROOT=/path).
set -eu
cd "$(dirname "$0")"
CC=${CC:-clang}
SYSROOT_FLAG=""
if [ -n "${SYSROOT:-}" ]; then
  SYSROOT_FLAG="--sysroot=$SYSROOT"
fi
# -O2 and stripped: a small module (the Gateway compiles it to JVM bytecode once per digest).
$CC --target=wasm32-wasi $SYSROOT_FLAG -O2 -Wall -Wextra -Werror \
  -Wl,--strip-all -o echo_agent.wasm echo_agent.c
sha256sum echo_agent.wasm | cut -d' ' -f1 | tee echo_agent.wasm.sha256
