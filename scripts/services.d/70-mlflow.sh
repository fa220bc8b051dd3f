# MLflow tracking server and model registry from PyPI, in its own venv, for the MLflow Registry
# adapter (@vigil/adapter-mlflow) and its interop test with MLflow's own Python client.
# shellcheck shell=bash
#
# `mlflow server` on 127.0.0.1 with a SQLite backend store and proxied artifacts
# (`--serve-artifacts --artifacts-destination`): clients read and write artifacts through the
# server at /api/2.0/mlflow-artifacts/…, never the folder directly. Job execution is off
# (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false): 2 processes and about 0.5 GB instead of 10 and 2.4 GB.
# State (mlflow.db, artifacts/) lives in the service's state folder and survives restarts.
#
#   VIGIL_MLFLOW_VERSION  MLflow release to install (default 3.17.2: 3.18.0 needs an
#                         mlflow-tracing==3.18.0 that PyPI does not have, RECIPES.md)
#   VIGIL_MLFLOW_PYTHON   interpreter that creates the venv (default: python3 on the PATH, ≥ 3.10)
#   VIGIL_MLFLOW_PORT     port of the tracking server (default 5000, MLflow's own default)
#
# Pinned: mlflow==$VIGIL_MLFLOW_VERSION and, through pip --constraint, every package it pulls in,
# at the versions in scripts/services.d/mlflow-<version>-constraints.txt (a pip freeze of a working
# venv), so a fresh machine gets the same venv, not whatever PyPI has that day.
SERVICES+=(mlflow)

svc_mlflow_port() { printf '%s' "${VIGIL_MLFLOW_PORT:-5000}"; }

mlflow_venv() { printf '%s/venv' "$(cache_dir mlflow)"; }

svc_mlflow_install() {
  local version="${VIGIL_MLFLOW_VERSION:-3.17.2}" venv
  venv="$(mlflow_venv)"
  pinned_venv_install mlflow mlflow "$version" mlflow "${VIGIL_MLFLOW_PYTHON:-python3}"
  [[ $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null) == "$version" ]] ||
    die "mlflow: the venv at $venv does not hold mlflow $version after pip install (see $VIGIL_SERVICES_DIR/mlflow-pip.log)"
}

svc_mlflow_start() {
  local state
  state="$(state_dir mlflow)"
  mkdir -p "$state/artifacts"
  # `exec` in a wrapper is not needed: the venv's mlflow script is the process we supervise, and
  # SIGTERM to it stops its server child (about 5 s).
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
    spawn mlflow "$(mlflow_venv)/bin/mlflow" server \
    --host 127.0.0.1 --port "$(svc_mlflow_port)" \
    --backend-store-uri "sqlite:///$state/mlflow.db" \
    --artifacts-destination "$state/artifacts" --serve-artifacts \
    --workers 1
}

svc_mlflow_ready() {
  [[ $(curl -s --max-time 2 "http://127.0.0.1:$(svc_mlflow_port)/health" 2>/dev/null) == OK ]]
}

svc_mlflow_env() {
  printf 'export VIGIL_MLFLOW_TRACKING_URI=%q\n' "http://127.0.0.1:$(svc_mlflow_port)"
  printf 'export VIGIL_MLFLOW_PYTHON_BIN=%q\n' "$(mlflow_venv)/bin/python"
}
