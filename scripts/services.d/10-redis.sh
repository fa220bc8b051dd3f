# Redis from Debian's package, for the Feast-compatible online store.
# shellcheck shell=bash
SERVICES+=(redis)

svc_redis_port() { printf '%s' "${VIGIL_REDIS_PORT:-6379}"; }

svc_redis_install() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  apt_install redis-server redis-tools
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

