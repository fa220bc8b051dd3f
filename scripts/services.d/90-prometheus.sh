# Prometheus from Debian's package, scraping the monitor's /metrics in integration tests.
# shellcheck shell=bash
#
# Pinned: Prometheus 2.42.0, Debian 12's (bookworm) version (`2.42.0+ds-5+deb12uN`; the Debian
# revision is left to apt, as for Redis, and apt checks the SHA-256 in the signed index). The
# installed server must report the pinned version, or `up` fails.
#
# The package starts its own system service where PID 1 is systemd; `install` stops and disables
# it (we never use it), and `start` runs our own process instead:
#   prometheus --config.file=<state>/prometheus.yml --storage.tsdb.path=<state>/data
#              --web.listen-address=127.0.0.1:<port>
# with a config that loads deploy/prometheus/vigil-alerts.yml and discovers scrape targets from
# <state>/targets/*.json (file_sd, re-read every 5 s), so a test can add a target by writing a file
# there. The rule file is the repository's own: `up` copies nothing, so editing it and sending
# SIGHUP (or `down`/`up`) reloads it.
#
#   VIGIL_PROMETHEUS_VERSION  the upstream version `prometheus --version` must report (default 2.42.0)
#   VIGIL_PROMETHEUS_PORT     listen port (default 9090)
#
# `scripts/services env` prints VIGIL_PROMETHEUS_URL and VIGIL_PROMETHEUS_TARGETS (the file_sd folder).
SERVICES+=(prometheus)

PROMETHEUS_VERSION="${VIGIL_PROMETHEUS_VERSION:-2.42.0}"

svc_prometheus_port() { printf '%s' "${VIGIL_PROMETHEUS_PORT:-9090}"; }

prometheus_targets_dir() { printf '%s/targets' "$(state_dir prometheus)"; }

# The version the installed server reports (`prometheus, version 2.42.0+ds (branch: …)`).
prometheus_installed_version() {
  prometheus --version 2>&1 | sed -n 's/^prometheus, version \([0-9.]*\).*/\1/p'
}

svc_prometheus_install() {
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    local candidate
    candidate="$(apt-cache madison prometheus 2>/dev/null | awk -v v="$PROMETHEUS_VERSION" '$3 ~ ("^([0-9]+:)?" v "\\+") { print $3; exit }')"
    if [[ -n $candidate ]]; then
      apt_install "prometheus=$candidate"
    else
      apt_install prometheus
    fi
    # The package enables and starts its own service under systemd: ours is the only one we run.
    if [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]]; then
      systemctl disable --now prometheus >/dev/null 2>&1 || log "prometheus: could not disable the package's system service"
    fi
  fi
  local have
  have="$(prometheus_installed_version)"
  [[ $have == "$PROMETHEUS_VERSION" ]] ||
    die "prometheus: the installed prometheus is ${have:-unknown}, not the pinned $PROMETHEUS_VERSION (set VIGIL_PROMETHEUS_VERSION to move)"
}

svc_prometheus_start() {
  local dir config
  dir="$(state_dir prometheus)"
  config="$dir/prometheus.yml"
  mkdir -p "$dir/data" "$(prometheus_targets_dir)"
  cat >"$config" <<YAML
# Written by scripts/services (90-prometheus.sh) on every start.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $REPO_ROOT/deploy/prometheus/vigil-alerts.yml
scrape_configs:
  - job_name: vigil
    file_sd_configs:
      - files: ['$(prometheus_targets_dir)/*.json']
        refresh_interval: 5s
YAML
  promtool check config "$config" >/dev/null || die "prometheus: promtool rejects $config"
  spawn prometheus prometheus --config.file="$config" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$(svc_prometheus_port)" --web.enable-lifecycle
}

svc_prometheus_ready() {
  [[ $(curl -fsS --max-time 2 "http://127.0.0.1:$(svc_prometheus_port)/-/ready" 2>/dev/null) == *Ready* ]]
}

svc_prometheus_env() {
  printf 'export VIGIL_PROMETHEUS_URL=%q\n' "http://127.0.0.1:$(svc_prometheus_port)"
  printf 'export VIGIL_PROMETHEUS_TARGETS=%q\n' "$(prometheus_targets_dir)"
}
