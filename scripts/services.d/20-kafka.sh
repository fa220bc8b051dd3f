# Kafka 3.9 in KRaft mode (one node, broker + controller), from the Maven Central jars.
# shellcheck shell=bash
#
# Pinned: Kafka $KAFKA_VERSION (and slf4j-reload4j 1.7.36 for its logging). Maven checks every
# download against the repository's .sha1 (--strict-checksums), and the resolved classpath is
# then checked, jar by jar, against scripts/services.d/kafka-<version>.sha1 (SHA-1 of each jar as
# Maven Central publishes it): a jar that differs, is missing or is extra fails the install.
SERVICES+=(kafka)

KAFKA_VERSION="${VIGIL_KAFKA_VERSION:-3.9.1}"

svc_kafka_port() { printf '%s' "${VIGIL_KAFKA_PORT:-9092}"; }
svc_kafka_controller_port() { printf '%s' "${VIGIL_KAFKA_CONTROLLER_PORT:-9093}"; }

# The jars of one version live in <cache>/kafka/<version>/lib; `.complete` marks a full copy.
kafka_lib() { printf '%s/%s/lib' "$(cache_dir kafka)" "$KAFKA_VERSION"; }

svc_kafka_install() {
  local lib build
  lib="$(kafka_lib)"
  [[ -f $lib/.complete ]] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  build="$(cache_dir kafka)/$KAFKA_VERSION/build"
  rm -rf "$build" "$lib"
  mkdir -p "$build"
  # A throwaway pom whose only job is to resolve the broker's runtime classpath.
  cat >"$build/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.vigil.services</groupId>
  <artifactId>kafka-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
EOF
  log "downloading Kafka $KAFKA_VERSION jars with Maven (a minute or two the first time; output in $build/mvn.log)"
  if ! mvn -q -B --strict-checksums -f "$build/pom.xml" -Dmaven.repo.local="$(cache_dir kafka)/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$build/lib" \
    >"$build/mvn.log" 2>&1; then
    log "mvn could not fetch the Kafka jars; last lines of $build/mvn.log:"
    tail -n 20 "$build/mvn.log" >&2
    return 1
  fi
  kafka_check_jars "$build/lib" || return 1
  mv "$build/lib" "$lib"
  touch "$lib/.complete"
}

# kafka_check_jars DIR — the jars in DIR are exactly those of the pinned manifest, byte for byte.
kafka_check_jars() {
  local dir="$1" manifest="$REPO_ROOT/scripts/services.d/kafka-$KAFKA_VERSION.sha1"
  if [[ ! -f $manifest ]]; then
    log "kafka: no checksum manifest for $KAFKA_VERSION ($manifest); relying on Maven's --strict-checksums only"
    return 0
  fi
  if ! diff <(awk '{ print $2 }' "$manifest" | sort) <(cd "$dir" && ls -1 -- *.jar | sort) >&2; then
    log "kafka: the resolved jars differ from $manifest (< pinned, > resolved)"
    return 1
  fi
  if ! (cd "$dir" && sha1sum --quiet -c "$manifest") >&2; then
    log "kafka: a jar does not match its pinned SHA-1 in $manifest"
    return 1
  fi
}

# server.properties and log4j.properties are rewritten on every start (ports may change);
# the data folder is formatted once.
kafka_write_config() {
  local dir="$1" port controller
  port="$(svc_kafka_port)"
  controller="$(svc_kafka_controller_port)"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=2
log.retention.hours=24
EOF
  cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.Kafka=INFO
EOF
}

kafka_java() {
  local dir="$1"
  shift
  # The first word must stay `java` (spawn matches it against the process's command line).
  printf '%s\n' "$(command -v java)" -Xms128m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "-Dlog4j.configuration=file:$dir/log4j.properties" \
    -cp "$(kafka_lib)/*" "$@"
}

svc_kafka_start() {
  local dir cluster
  dir="$(state_dir kafka)"
  mkdir -p "$dir/data"
  kafka_write_config "$dir"
  if [[ ! -f $dir/data/meta.properties ]]; then
    local -a tool
    mapfile -t tool < <(kafka_java "$dir" kafka.tools.StorageTool)
    cluster="$("${tool[@]}" random-uuid)"
    log "formatting Kafka storage (cluster id $cluster)"
    "${tool[@]}" format --ignore-formatted -t "$cluster" -c "$dir/server.properties" \
      >>"$(log_file kafka)" 2>&1
  fi
  local -a cmd
  mapfile -t cmd < <(kafka_java "$dir" kafka.Kafka "$dir/server.properties")
  spawn kafka "${cmd[@]}"
}

# Ready: the port accepts connections and the log of the latest start says the server started.
svc_kafka_ready() {
  port_open "$(svc_kafka_port)" || return 1
  local lf
  lf="$(log_file kafka)"
  [[ -f $lf ]] || return 0
  awk '/^=== / { started = 0 } /Kafka Server started/ { started = 1 } END { exit !started }' "$lf"
}
