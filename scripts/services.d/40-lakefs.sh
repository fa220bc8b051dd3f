# lakeFS built from the Go module proxy, for the lakeFS LakeStore adapter (@vigil/adapter-lakefs).
# shellcheck shell=bash
#
# Production-shaped: lakeFS keeps its metadata in its local KV store (state folder) and its
# objects in MinIO through the S3 blockstore, in the bucket $VIGIL_LAKEFS_BUCKET (created on
# start). Repositories therefore take storage namespaces s3://$VIGIL_LAKEFS_BUCKET/<path>;
# `local://` namespaces are refused. `up lakefs` starts MinIO first when it is not up.
SERVICES+=(lakefs)

# lakeFS release to build; the adapter needs ≥ 1.81. Pinned to a version and to the module's
# go.sum hash (h1:): the build fails if the proxy serves anything else (go also checks it against
# sum.golang.org; the dependencies are pinned by lakeFS's own go.sum, copied into the build).
# To move, set VIGIL_LAKEFS_VERSION and VIGIL_LAKEFS_SUM together.
if [[ -n ${VIGIL_LAKEFS_VERSION:-} ]]; then
  VIGIL_LAKEFS_SUM="${VIGIL_LAKEFS_SUM:-}"
else
  VIGIL_LAKEFS_VERSION=v1.84.0
  VIGIL_LAKEFS_SUM="${VIGIL_LAKEFS_SUM:-h1:OR5X6hzmnNg6zMj3nBaDUyGV3H4Ula0/I7BF87SdMjw=}"
fi
# The MinIO bucket that holds lakeFS's objects; storage namespaces are s3://<bucket>/<path>.
: "${VIGIL_LAKEFS_BUCKET:=vigil-lakefs}"
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
  local dir bin build info gomod moddir target sum
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
    sum="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$info")"
    if [[ -n $VIGIL_LAKEFS_SUM && $sum != "$VIGIL_LAKEFS_SUM" ]]; then
      die "github.com/treeverse/lakefs@$VIGIL_LAKEFS_VERSION has checksum $sum, not the pinned $VIGIL_LAKEFS_SUM; refusing to build"
    fi
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

# lakefs_s3 METHOD PATH — a signed (SigV4) request to the MinIO service; prints the HTTP status.
lakefs_s3() {
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X "$1" \
    --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "${VIGIL_S3_ACCESS_KEY_ID:-vigil-test}:${VIGIL_S3_SECRET_ACCESS_KEY:-vigil-test-secret}" \
    "http://127.0.0.1:$(svc_minio_port)/$2"
}

# The bucket for lakeFS's objects, in MinIO (which is started first when it is not up).
lakefs_bucket() {
  svc_minio_ready || with_lock minio up_one minio || die "lakefs: MinIO (its blockstore) did not start"
  local code
  code="$(lakefs_s3 HEAD "$VIGIL_LAKEFS_BUCKET")" || true
  [[ $code == 200 ]] && return 0
  code="$(lakefs_s3 PUT "$VIGIL_LAKEFS_BUCKET")" || true
  [[ $code == 200 || $code == 409 ]] ||
    die "lakefs: could not create the bucket $VIGIL_LAKEFS_BUCKET in MinIO (HTTP $code)"
}

svc_lakefs_start() {
  local state port
  state="$(state_dir lakefs)"
  port="$(svc_lakefs_port)"
  lakefs_bucket
  # The KV store of the S3-backed installation has its own folder: repositories created on the
  # local blockstore by an earlier version of this script cannot move to S3.
  mkdir -p "$state/data/metadata-s3"
  # A config file, not LAKEFS_* variables: viper reads variables only for keys it already
  # knows, and the blockstore's S3 credentials have no default.
  cat >"$state/config.yaml" <<EOF
listen_address: "127.0.0.1:$port"
database:
  type: local
  local:
    path: "$state/data/metadata-s3"
blockstore:
  type: s3
  s3:
    endpoint: "http://127.0.0.1:$(svc_minio_port)"
    force_path_style: true
    region: us-east-1
    discover_bucket_region: false
    credentials:
      access_key_id: "${VIGIL_S3_ACCESS_KEY_ID:-vigil-test}"
      secret_access_key: "${VIGIL_S3_SECRET_ACCESS_KEY:-vigil-test-secret}"
auth:
  encrypt:
    secret_key: "vigil-lakefs-test-encrypt-secret"
stats:
  enabled: false
logging:
  level: WARN
EOF
  HOME="$state" \
    LAKEFS_INSTALLATION_USER_NAME=vigil-admin \
    LAKEFS_INSTALLATION_ACCESS_KEY_ID="$VIGIL_LAKEFS_ACCESS_KEY_ID" \
    LAKEFS_INSTALLATION_SECRET_ACCESS_KEY="$VIGIL_LAKEFS_SECRET_ACCESS_KEY" \
    spawn lakefs "$(cache_dir lakefs)/bin/lakefs" run --config "$state/config.yaml"
}

svc_lakefs_ready() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$(svc_lakefs_port)/api/v1/healthcheck" 2>/dev/null) == 204 ]]
}

svc_lakefs_env() {
  printf 'export VIGIL_LAKEFS_STORAGE_NAMESPACE=%q\n' "s3://$VIGIL_LAKEFS_BUCKET"
  printf 'export VIGIL_LAKEFS_ACCESS_KEY_ID=%q\n' "$VIGIL_LAKEFS_ACCESS_KEY_ID"
  printf 'export VIGIL_LAKEFS_SECRET_ACCESS_KEY=%q\n' "$VIGIL_LAKEFS_SECRET_ACCESS_KEY"
}
