# lakeFS built from the Go module proxy, for the lakeFS LakeStore adapter (@vigil/adapter-lakefs).
# shellcheck shell=bash
SERVICES+=(lakefs)

# lakeFS release to build; the adapter needs ≥ 1.81.
VIGIL_LAKEFS_VERSION="${VIGIL_LAKEFS_VERSION:-v1.84.0}"
# Test-only credentials for the first admin user, created on first start. Tests read the same
# variables with the same defaults.
: "${VIGIL_LAKEFS_ACCESS_KEY_ID:=AKIAIOSFODNN7VIGILTEST}"
: "${VIGIL_LAKEFS_SECRET_ACCESS_KEY:=vigil-lakefs-test-secret-key-not-for-production}"

svc_lakefs_port() { printf '%s' "${VIGIL_LAKEFS_PORT:-8000}"; }

# The go command: on PATH, or Go's default install location.
lakefs_go() {
  if command -v go >/dev/null; then
    go "$@"
  else
    /usr/local/go/bin/go "$@"
  fi
}

# `go install pkg@version` refuses modules with replace directives, and lakeFS replaces
# github.com/csimplestring/delta-go. So: a throwaway wrapper module in the cache that requires
# lakeFS and repeats that replace (read from lakeFS's own go.mod), then `go build` from there.
svc_lakefs_install() {
  local dir bin build info gomod moddir target
  dir="$(cache_dir lakefs)"
  bin="$dir/bin/lakefs"
  if [[ -x $bin ]] && [[ $(cat "$dir/bin/VERSION" 2>/dev/null) == "$VIGIL_LAKEFS_VERSION" ]]; then
    return 0
  fi
  build="$dir/build-$VIGIL_LAKEFS_VERSION"
  mkdir -p "$build" "$dir/bin"
  (
    # Module downloads and the build cache shared by every Go-built service, in the cache folder.
    export GOPATH="$(cache_dir go)" GOCACHE="$(cache_dir go)/build-cache" GOTOOLCHAIN=local GOFLAGS=-mod=mod
    cd "$build"
    [[ -f go.mod ]] || lakefs_go mod init vigil.local/lakefs-build >/dev/null 2>&1
    info="$(lakefs_go mod download -json "github.com/treeverse/lakefs@$VIGIL_LAKEFS_VERSION")"
    gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$info")"
    moddir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")"
    [[ -f $gomod && -f $moddir/go.sum ]] || die "could not download lakeFS $VIGIL_LAKEFS_VERSION"
    target="$(lakefs_go mod edit -json "$gomod" |
      tr -d '\n\t ' | grep -o '"Old":{"Path":"github.com/csimplestring/delta-go"},"New":{[^}]*}' |
      sed 's/.*"New":{"Path":"\([^"]*\)","Version":"\([^"]*\)"}/\1@\2/')"
    [[ $target == *@* ]] || die "lakeFS $VIGIL_LAKEFS_VERSION's go.mod has no replace for delta-go"
    lakefs_go mod edit -replace "github.com/csimplestring/delta-go=$target"
    # lakeFS's go.sum pins every dependency it was released with (the replaced delta-go and
    # some pseudo-versions are not in the public checksum database, so go would fail to verify them).
    cp "$moddir/go.sum" go.sum
    log "building lakeFS $VIGIL_LAKEFS_VERSION with Go (many minutes the first time; output in $build/build.log)"
    if ! {
      lakefs_go get "github.com/treeverse/lakefs/cmd/lakefs@$VIGIL_LAKEFS_VERSION" &&
        lakefs_go build -o "$bin.tmp" \
          -ldflags "-X github.com/treeverse/lakefs/pkg/version.Version=${VIGIL_LAKEFS_VERSION#v}" \
          github.com/treeverse/lakefs/cmd/lakefs
    } >"$build/build.log" 2>&1; then
      log "lakeFS build failed; last lines of $build/build.log:"
      tail -n 20 "$build/build.log" >&2
      exit 1
    fi
    mv -f "$bin.tmp" "$bin"
    printf '%s\n' "$VIGIL_LAKEFS_VERSION" >"$dir/bin/VERSION"
  )
}

svc_lakefs_start() {
  local state port
  state="$(state_dir lakefs)"
  port="$(svc_lakefs_port)"
  mkdir -p "$state/data"
  # --local-settings: local blockstore and local KV store (under LAKEFS_DATABASE_LOCAL_PATH and
  # LAKEFS_BLOCKSTORE_LOCAL_PATH), so everything lives in the state folder.
  HOME="$state" \
    LAKEFS_LISTEN_ADDRESS="127.0.0.1:$port" \
    LAKEFS_DATABASE_TYPE=local \
    LAKEFS_DATABASE_LOCAL_PATH="$state/data/metadata" \
    LAKEFS_BLOCKSTORE_TYPE=local \
    LAKEFS_BLOCKSTORE_LOCAL_PATH="$state/data/block" \
    LAKEFS_AUTH_ENCRYPT_SECRET_KEY="vigil-lakefs-test-encrypt-secret" \
    LAKEFS_INSTALLATION_USER_NAME=vigil-admin \
    LAKEFS_INSTALLATION_ACCESS_KEY_ID="$VIGIL_LAKEFS_ACCESS_KEY_ID" \
    LAKEFS_INSTALLATION_SECRET_ACCESS_KEY="$VIGIL_LAKEFS_SECRET_ACCESS_KEY" \
    LAKEFS_STATS_ENABLED=false \
    LAKEFS_LOGGING_LEVEL=WARN \
    spawn lakefs "$(cache_dir lakefs)/bin/lakefs" run --local-settings
}

svc_lakefs_ready() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$(svc_lakefs_port)/api/v1/healthcheck" 2>/dev/null) == 204 ]]
}

svc_lakefs_env() {
  printf 'export VIGIL_LAKEFS_ACCESS_KEY_ID=%q\n' "$VIGIL_LAKEFS_ACCESS_KEY_ID"
  printf 'export VIGIL_LAKEFS_SECRET_ACCESS_KEY=%q\n' "$VIGIL_LAKEFS_SECRET_ACCESS_KEY"
}
