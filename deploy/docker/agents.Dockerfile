# The built-in agents image (hari, ernest, daneel): what `runtime: kubernetes` runs as one Job per
# step attempt. Its content is what the Maven build makes, nothing else: the agents jar and the
# runtime libraries its manifest's Class-Path names (lib/), laid out as in target/.
#
# Build from the repository root after a clean build (stale jars in target/lib would be copied):
#   mvn -B -DskipTests clean package
#   docker build -f deploy/docker/agents.Dockerfile -t REGISTRY/worka-agents:0.1.0 .
# worka-deploy's DockerfilesTest checks that every COPY source below is made by the build, and
# that the ENTRYPOINT runs the JVM with every option bin/worka-agent gives it.
#
# Pin the base by digest in production: --build-arg JRE_IMAGE=eclipse-temurin:25-jre-noble@sha256:…
ARG JRE_IMAGE=eclipse-temurin:25-jre-noble
FROM ${JRE_IMAGE}

RUN groupadd --system --gid 10001 worka \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin worka

COPY worka-agents/target/lib/ /opt/worka/lib/
COPY worka-agents/target/worka-agents.jar /opt/worka/worka-agents.jar

USER 10001:10001
WORKDIR /tmp
# The Gateway's Job runs this ENTRYPOINT with no arguments: the agent is the one WORKA_AGENT names
# (AgentRunner), and the step token is read from WORKA_TOKEN_FILE. No shell: the JVM is started
# directly, with bin/worka-agent's options plus -XX:-UsePerfData (a read-only root filesystem;
# /tmp is the pod's emptyDir).
ENTRYPOINT ["java", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-Xmx128m", "-jar", "/opt/worka/worka-agents.jar"]
