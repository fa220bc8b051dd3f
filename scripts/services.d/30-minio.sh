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

# Pinned: the MinIO module at one commit. MinIO tags its releases RELEASE.<date>, which are not
# semantic versions, so the Go module proxy knows MinIO only by pseudo-versions (commit date +
# hash); this is master as of 2026-02-12 (the newest the proxy serves). VIGIL_MINIO_SUM is the
# module's go.sum hash (h1:, a hash of the module's files): the build fails if the proxy serves
# anything else, on top of the check go itself makes against sum.golang.org; every dependency is
# pinned by MinIO's own go.sum. To move, set VIGIL_MINIO_VERSION (a pseudo-version, or a
# RELEASE.… tag, which go resolves to its commit) and VIGIL_MINIO_SUM together.
MINIO_VERSION="${VIGIL_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
if [[ -n ${VIGIL_MINIO_VERSION:-} ]]; then
  MINIO_SUM="${VIGIL_MINIO_SUM:-}"
else
  MINIO_SUM="${VIGIL_MINIO_SUM:-h1:/qdoYujxF5MBLDMVLeiYJ/7fBa1HikX39Dvzb9Ji8pA=}"
fi

minio_go() {
  local go
  go="$(command -v go || true)"
  [[ -n $go ]] || go=/usr/local/go/bin/go
  [[ -x $go ]] || die "minio: Go is needed to build MinIO (looked for 'go' on PATH and /usr/local/go/bin/go)"
  local cache
  cache="$(cache_dir minio)"
  # Module downloads and the build cache stay in the cache folder too, so a rebuild is quick.
  GOPATH="$cache/gopath" GOCACHE="$cache/gocache" GOFLAGS=-mod=mod \
    GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=0 "$go" "$@"
}

# The MinIO module version a built binary carries (from its embedded build info).
minio_built_version() {
  minio_go version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/minio/minio" { print $3 }'
}

svc_minio_install() {
  local bin cache out info sum
  bin="$(svc_minio_bin)"
  cache="$(cache_dir minio)"
  # Reuse the cached binary when it is the pinned build (the VERSION stamp, or, for a binary
  # built before the stamp existed, the module version in its build info).
  if [[ -x $bin ]]; then
    [[ $(cat "$cache/bin/VERSION" 2>/dev/null) == "$MINIO_VERSION" ]] && return 0
    if [[ $(minio_built_version "$bin") == "$MINIO_VERSION" ]]; then
      printf '%s\n' "$MINIO_VERSION" >"$cache/bin/VERSION"
      return 0
    fi
  fi
  out="$(state_dir minio)/go-install.log"
  mkdir -p "$(state_dir minio)" "$cache/bin"
  if ! info="$(minio_go mod download -json "github.com/minio/minio@$MINIO_VERSION" 2>>"$out")"; then
    log "minio: could not download github.com/minio/minio@$MINIO_VERSION; output in $out"
    return 1
  fi
  sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$info")"
  if [[ -n $MINIO_SUM && $sum != "$MINIO_SUM" ]]; then
    log "minio: github.com/minio/minio@$MINIO_VERSION has checksum $sum, not the pinned $MINIO_SUM; refusing to build"
    return 1
  fi
  log "building minio with go install github.com/minio/minio@$MINIO_VERSION (first time takes several minutes; output in $out)"
  rm -rf "$cache/bin.tmp"
  if ! GOBIN="$cache/bin.tmp" minio_go install "github.com/minio/minio@$MINIO_VERSION" >>"$out" 2>&1; then
    log "go install of minio failed; last lines of $out:"
    tail -n 20 "$out" >&2
    return 1
  fi
  mv -f "$cache/bin.tmp/minio" "$bin"
  rm -rf "$cache/bin.tmp"
  printf '%s\n' "$MINIO_VERSION" >"$cache/bin/VERSION"
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
