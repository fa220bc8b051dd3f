# Feast from PyPI in its own venv, for the interop tests of the Redis online store.
# shellcheck shell=bash
#
# Install-only: Feast needs no long-running server for the interop tests (they call the venv's
# `python`/`feast` against a throwaway repo and the `redis` service). `up feast` creates the venv
# once under "$(cache_dir feast)/venv" and is then ready; the online-lookup benchmark starts its
# own `feast serve` on VIGIL_FEAST_PORT and stops it when done.
#
#   VIGIL_FEAST_VERSION  Feast release to install (default 0.66.0, the version INTEROP §1 was read from)
#
# Pinned: feast[redis]==$VIGIL_FEAST_VERSION and, through pip --constraint, every package it
# pulls in, at the versions in scripts/services.d/feast-<version>-constraints.txt (a pip freeze
# of a working venv), so a fresh machine gets the same venv, not whatever PyPI has that day.
#   VIGIL_FEAST_PYTHON   interpreter that creates the venv (default: python3 on the PATH, ≥ 3.10)
#   VIGIL_FEAST_PORT     port of the benchmark's `feast serve` (default 6566, Feast's own default)
SERVICES+=(feast)

svc_feast_port() { printf '%s' "${VIGIL_FEAST_PORT:-6566}"; }

feast_venv() { printf '%s/venv' "$(cache_dir feast)"; }

svc_feast_install() {
  pinned_venv_install feast 'feast[redis]' "${VIGIL_FEAST_VERSION:-0.66.0}" feast "${VIGIL_FEAST_PYTHON:-python3}"
}

# Nothing to run: the venv is the service.
svc_feast_start() {
  die "feast is install-only; its venv at $(feast_venv) does not import feast (see $VIGIL_SERVICES_DIR/feast-pip.log)"
}

svc_feast_ready() {
  local venv
  venv="$(feast_venv)"
  # find_spec, not import: importing feast takes seconds.
  [[ -x $venv/bin/feast ]] && ls "$venv"/.vigil-feast-* >/dev/null 2>&1 &&
    "$venv/bin/python" -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("feast") and u.find_spec("redis")))' 2>/dev/null
}
