# MinIO (S3-compatible object store) built from source with `go install`, for the s3 LakeStore.
# shellcheck shell=bash
#
# Test-only credentials: the root user/password below are fixed, well-known test values (never
# use them for anything else). Tests read the same variables with the same defaults:
#   VIGIL_S3_ENDPOINT           http://127.0.0.1:$VIGIL_MINIO_PORT
#   VIGIL_S3_ACCESS_KEY_ID      vigil-test
#   VIGIL_S3_SECRET_ACCESS_KEY  vigil-test-secret
SERVICES+=(minio)

svc_minio_port() { printf '%s' "${VIGIL_MINIO_PORT:-9000}"; }
svc_minio_console_port() { printf '%s' "${VIGIL_MINIO_CONSOLE_PORT:-9001}"; }
svc_minio_bin() { printf '%s/bin/minio' "$(cache_dir minio)"; }

svc_minio_install() {
  [[ -x $(svc_minio_bin) ]] && return 0
  local go cache out
  go="$(command -v go || true)"
  [[ -n $go ]] || go=/usr/local/go/bin/go
  [[ -x $go ]] || die "minio: Go is needed to build MinIO (looked for 'go' on PATH and /usr/local/go/bin/go)"
  cache="$(cache_dir minio)"
  out="$(state_dir minio)/go-install.log"
  mkdir -p "$(state_dir minio)"
  log "building minio with go install github.com/minio/minio@${VIGIL_MINIO_VERSION:-latest} (first time takes several minutes; output in $out)"
  # Module downloads and the build cache stay in the cache folder too, so a rebuild is quick.
  if ! GOBIN="$cache/bin" GOPATH="$cache/gopath" GOCACHE="$cache/gocache" GOFLAGS=-mod=mod \
    GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=0 \
    "$go" install "github.com/minio/minio@${VIGIL_MINIO_VERSION:-latest}" >"$out" 2>&1; then
    log "go install of minio failed; last lines of $out:"
    tail -n 20 "$out" >&2
    return 1
  fi
}

svc_minio_start() {
  local dir
  dir="$(state_dir minio)/data"
  mkdir -p "$dir"
  (
    export MINIO_ROOT_USER="${VIGIL_S3_ACCESS_KEY_ID:-vigil-test}"
    export MINIO_ROOT_PASSWORD="${VIGIL_S3_SECRET_ACCESS_KEY:-vigil-test-secret}"
    export MINIO_UPDATE=off MINIO_BROWSER=off
    spawn minio "$(svc_minio_bin)" server --quiet \
      --address "127.0.0.1:$(svc_minio_port)" --console-address "127.0.0.1:$(svc_minio_console_port)" "$dir"
  )
}

svc_minio_ready() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(svc_minio_port)/minio/health/ready" 2>/dev/null
}
