# The Worka Gateway image. Its content is what the Maven build makes, nothing else: the Gateway jar
# and the runtime libraries its manifest's Class-Path names (lib/), laid out as in target/.
#
# Build from the repository root after a clean build (stale jars in target/lib would be copied):
#   mvn -B -DskipTests clean package
#   docker build -f deploy/docker/gateway.Dockerfile -t REGISTRY/worka-gateway:0.1.0 .
# worka-deploy's DockerfilesTest checks that every COPY source below is made by the build.
#
# Pin the base by digest in production: --build-arg JRE_IMAGE=eclipse-temurin:25-jre-noble@sha256:…
ARG JRE_IMAGE=eclipse-temurin:25-jre-noble
FROM ${JRE_IMAGE}

# uid/gid 10001, no login shell, no home: the chart runs the pod as this user.
RUN groupadd --system --gid 10001 worka \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin worka

COPY worka-gateway/target/lib/ /opt/worka/lib/
COPY worka-gateway/target/worka-gateway.jar /opt/worka/worka-gateway.jar

# WORKA_HOME must be writable (the chart mounts an emptyDir there; the root filesystem is
# read-only). WORKA_INSTALL_DIR is where relative agent commands would resolve: this image holds
# no agent; agents run as Kubernetes Jobs from the agents image.
ENV WORKA_HOME=/var/lib/worka \
    WORKA_INSTALL_DIR=/opt/worka
USER 10001:10001
WORKDIR /opt/worka
EXPOSE 8080 8081
# As bin/worka runs it: protobuf (under CEL) uses sun.misc.Unsafe (allowed, JDK 23+);
# -XX:-UsePerfData: no hsperfdata file (the root filesystem is read-only); the heap sized from the
# container's memory limit. More JVM options: JAVA_TOOL_OPTIONS (the chart's gateway.javaOpts).
ENTRYPOINT ["java", "-XX:-UsePerfData", "-XX:MaxRAMPercentage=75", "--sun-misc-unsafe-memory-access=allow", "-jar", "/opt/worka/worka-gateway.jar"]
CMD ["serve"]
