# ActiveMQ Artemis (the AMQP 1.0 broker behind the MQ bridge tests), from the Maven Central
# binary distribution. AMQP on 127.0.0.1:$VIGIL_AMQP_PORT; login required.
# shellcheck shell=bash
SERVICES+=(artemis)

# Pinned: Artemis 2.40.0, and the SHA-512 of its binary distribution as Maven Central publishes
# it (apache-artemis-2.40.0-bin.tar.gz.sha512); Maven also checks the download against the
# repository's checksum (--strict-checksums). To move, set VIGIL_ARTEMIS_VERSION and
# VIGIL_ARTEMIS_SHA512 together.
if [[ -n ${VIGIL_ARTEMIS_VERSION:-} ]]; then
  ARTEMIS_VERSION="$VIGIL_ARTEMIS_VERSION"
  ARTEMIS_SHA512="${VIGIL_ARTEMIS_SHA512:-}"
else
  ARTEMIS_VERSION=2.40.0
  ARTEMIS_SHA512="${VIGIL_ARTEMIS_SHA512:-270a00dc3028fb3b93c6aa09aa3e40fbe76015029e5308e0aac241589299a72dac9bb50a10e7e86ad66185e2d8bc7224626810df12f1ee05694322054ad32700}"
fi

svc_artemis_port() { printf '%s' "${VIGIL_AMQP_PORT:-5672}"; }
# The broker's core-protocol acceptor (used by Artemis' own CLI tools), also on loopback.
artemis_core_port() { printf '%s' "${VIGIL_ARTEMIS_CORE_PORT:-61616}"; }
# Test credentials; the MQ bridge tests read the same variables with the same defaults.
artemis_user() { printf '%s' "${VIGIL_AMQP_USER:-vigil}"; }
artemis_password() { printf '%s' "${VIGIL_AMQP_PASSWORD:-vigil-artemis}"; }

# The unpacked distribution: <cache>/artemis/apache-artemis-<version>; `.complete` marks a full copy.
artemis_home() { printf '%s/apache-artemis-%s' "$(cache_dir artemis)" "$ARTEMIS_VERSION"; }
artemis_instance() { printf '%s/instance' "$(state_dir artemis)"; }

svc_artemis_install() {
  local home out
  home="$(artemis_home)"
  [[ -f $home/.complete ]] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  out="$(cache_dir artemis)/unpack"
  rm -rf "$out" "$home"
  mkdir -p "$out"
  log "downloading ActiveMQ Artemis $ARTEMIS_VERSION with Maven (output in $out.log)"
  # Run from the scratch folder: without a pom the plugin keeps its markers under the cwd.
  if ! (cd "$out" && mvn -q -B --strict-checksums -Dmaven.repo.local="$(cache_dir artemis)/m2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:unpack \
    -Dartifact="org.apache.activemq:apache-artemis:$ARTEMIS_VERSION:tar.gz:bin" \
    -DoutputDirectory="$out" -DmarkersDirectory="$out/.markers") >"$out.log" 2>&1; then
    log "mvn could not fetch Artemis $ARTEMIS_VERSION; last lines of $out.log:"
    tail -n 20 "$out.log" >&2
    return 1
  fi
  local tarball
  tarball="$(cache_dir artemis)/m2/org/apache/activemq/apache-artemis/$ARTEMIS_VERSION/apache-artemis-$ARTEMIS_VERSION-bin.tar.gz"
  if [[ -n $ARTEMIS_SHA512 ]] && [[ $(sha512sum "$tarball" 2>/dev/null | cut -d' ' -f1) != "$ARTEMIS_SHA512" ]]; then
    rm -rf "$out"
    log "artemis: $tarball does not match the pinned SHA-512; refusing to install"
    return 1
  fi
  mv "$out/apache-artemis-$ARTEMIS_VERSION" "$home"
  rm -rf "$out"
  touch "$home/.complete"
}

# The broker instance (config + journal) is created once; it is re-created (config only, the
# journal is kept) when the version, ports or credentials change.
artemis_create_instance() {
  local inst stamp want
  inst="$(artemis_instance)"
  stamp="$inst/.vigil-settings"
  want="2 $ARTEMIS_VERSION $(svc_artemis_port) $(artemis_core_port) $(artemis_user) $(artemis_password | sha256sum | cut -c1-16)"
  [[ -f $inst/etc/broker.xml && -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  log "creating the Artemis instance in $inst"
  mkdir -p "$inst"
  # --no-web: no console (Jolokia/HTTP); only the AMQP and the core acceptor, both on 127.0.0.1.
  if ! "$(artemis_home)/bin/artemis" create --silent --force \
    --user "$(artemis_user)" --password "$(artemis_password)" --require-login \
    --host 127.0.0.1 --http-host 127.0.0.1 --default-port "$(artemis_core_port)" \
    --no-web --no-autotune --nio \
    --no-hornetq-acceptor --no-mqtt-acceptor --no-stomp-acceptor \
    --java-memory 512M "$inst" >"$(state_dir artemis)/create.log" 2>&1; then
    log "artemis create failed; last lines of $(state_dir artemis)/create.log:"
    tail -n 20 "$(state_dir artemis)/create.log" >&2
    return 1
  fi
  # `create` writes the AMQP acceptor on its default port 5672; follow VIGIL_AMQP_PORT.
  sed -i "s#tcp://127.0.0.1:5672?#tcp://127.0.0.1:$(svc_artemis_port)?#" "$inst/etc/broker.xml"
  grep -q "tcp://127.0.0.1:$(svc_artemis_port)?" "$inst/etc/broker.xml" ||
    die "could not set the AMQP port in $inst/etc/broker.xml"
  artemis_test_settings "$inst/etc/broker.xml"
  printf '%s' "$want" >"$stamp"
}

# Address settings for the MQ bridge tests, inserted before </address-settings>:
#   vigil.test.#           anycast queues, auto-created, removed once empty and unused;
#   vigil.test.refusing.#  always full, refuses every message (FAIL policy), so the tests can
#                          show that a send waits for the broker's verdict.
artemis_test_settings() {
  local xml="$1" settings
  settings="$(mktemp)"
  cat >"$settings" <<'EOF'
         <address-setting match="vigil.test.#">
            <default-address-routing-type>ANYCAST</default-address-routing-type>
            <default-queue-routing-type>ANYCAST</default-queue-routing-type>
            <auto-delete-queues>true</auto-delete-queues>
            <auto-delete-addresses>true</auto-delete-addresses>
         </address-setting>
         <address-setting match="vigil.test.refusing.#">
            <max-size-bytes>0</max-size-bytes>
            <address-full-policy>FAIL</address-full-policy>
         </address-setting>
EOF
  awk -v f="$settings" '/<\/address-settings>/ { while ((getline line < f) > 0) print line } { print }' \
    "$xml" >"$xml.tmp" && mv "$xml.tmp" "$xml"
  rm -f "$settings"
  grep -q 'vigil.test.refusing' "$xml" || die "could not add the test address settings to $xml"
}

svc_artemis_start() {
  artemis_create_instance
  # bin/artemis execs java, so the recorded pid is the broker's JVM (heap capped at 512 MiB).
  spawn artemis "$(artemis_instance)/bin/artemis" run
}

# Ready when the port answers an AMQP protocol header with one (SASL layer: AMQP 3.1.0.0).
svc_artemis_ready() {
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "AMQP\x03\x01\x00\x00" >&3
    [[ $(head -c 4 <&3) == AMQP ]]' _ "$(svc_artemis_port)" 2>/dev/null
}

svc_artemis_env() {
  printf 'export VIGIL_AMQP_USER=%q\n' "$(artemis_user)"
  printf 'export VIGIL_AMQP_PASSWORD=%q\n' "$(artemis_password)"
}
