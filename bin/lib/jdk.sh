# shellcheck shell=bash
# Sourced by bin/* scripts. Finds a JDK >= 21 without relying on `java` on the PATH
# (which may be older), and exports JAVA_HOME for it. Prints what to install if none exists.

worka_java_major() { # $1 = a JDK home; prints its feature version or nothing
  local release="$1/release" v
  if [ -r "$release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$release" | head -n 1)
  fi
  if [ -z "${v:-}" ] && [ -x "$1/bin/java" ]; then
    v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 \
      | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1)
  fi
  [ -n "${v:-}" ] && echo "$v"
}

worka_find_jdk() { # sets JAVA_HOME to the newest JDK >= 21 found; returns 1 if none
  local min=21 best="" best_v=0 c v onpath
  local candidates=()
  [ -n "${WORKA_JAVA_HOME:-}" ] && candidates+=("$WORKA_JAVA_HOME")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if onpath=$(command -v javac 2>/dev/null); then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$onpath")")")")
  fi
  for c in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* /usr/local/jdk* \
           "${HOME:-/nonexistent}"/.sdkman/candidates/java/* "${HOME:-/nonexistent}"/.jdks/*; do
    [ -d "$c" ] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v=$(worka_java_major "$c") || continue
    [ -n "$v" ] || continue
    if [ "$v" -ge "$min" ] && [ "$v" -gt "$best_v" ]; then best="$c"; best_v="$v"; fi
  done
  if [ -z "$best" ]; then
    cat >&2 <<MSG
worka: no JDK 21 or newer was found (looked at WORKA_JAVA_HOME, JAVA_HOME, javac on the PATH,
/usr/lib/jvm, /opt/java, ~/.sdkman). Install one, for example:
  apt-get install openjdk-21-jdk        (Debian 13 / Ubuntu 24.04)
  or a Temurin 21+ JDK from https://adoptium.net
then run this again, or point WORKA_JAVA_HOME at it.
MSG
    return 1
  fi
  export JAVA_HOME="$best"
}
