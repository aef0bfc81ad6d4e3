# shellcheck shell=bash
# The JVM options of a built-in agent (bin/worka-agent), shared with the training run of its AOT
# cache (make-agent-start-cache): a cache is used only by a JVM started as it was trained.
# shellcheck disable=SC2034
worka_agent_jvm=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xmx128m)
