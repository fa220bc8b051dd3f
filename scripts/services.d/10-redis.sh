# Redis from Debian's package, for the Feast-compatible online store.
# shellcheck shell=bash
#
# Pinned: Redis 7.0.15, Debian 12's (bookworm) version. The Debian revision is left to apt
# (5:7.0.15-1~deb12uN: bookworm replaces it with each security fix and drops the old one, so an
# exact revision would stop installing); apt checks each package against the SHA-256 in the
# signed repository index. The installed server must report the pinned version, or `up` fails.
SERVICES+=(redis)

REDIS_VERSION="${VIGIL_REDIS_VERSION:-7.0.15}"

svc_redis_port() { printf '%s' "${VIGIL_REDIS_PORT:-6379}"; }

# The version the installed redis-server reports (`Redis server v=7.0.15 sha=…`).
redis_installed_version() {
  redis-server --version 2>/dev/null | sed -n 's/.* v=\([0-9.]*\) .*/\1/p'
}

svc_redis_install() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    # Debian's package version is <epoch>:<upstream>-<revision>; ask for the pinned upstream one.
    local candidate
    candidate="$(apt-cache madison redis-server 2>/dev/null | awk -v v="$REDIS_VERSION" '$3 ~ ("^([0-9]+:)?" v "-") { print $3; exit }')"
    if [[ -n $candidate ]]; then
      apt_install "redis-server=$candidate" "redis-tools=$candidate"
    else
      apt_install redis-server redis-tools
    fi
  fi
  local have
  have="$(redis_installed_version)"
  [[ $have == "$REDIS_VERSION" ]] ||
    die "redis: the installed redis-server is ${have:-unknown}, not the pinned $REDIS_VERSION (set VIGIL_REDIS_VERSION to move)"
}

svc_redis_start() {
  local dir
  dir="$(state_dir redis)/data"
  mkdir -p "$dir"
  spawn redis redis-server \
    --bind 127.0.0.1 --port "$(svc_redis_port)" \
    --daemonize no --dir "$dir" --save '' --appendonly no --protected-mode yes
}

svc_redis_ready() {
  command -v redis-cli >/dev/null || return 1
  [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$(svc_redis_port)" ping 2>/dev/null) == PONG ]]
}

