# PyTorch on CPU for the torch trainer's worker (@vigil/adapter-torch-trainer).
# shellcheck shell=bash
#
# Install-only, like feast: nothing runs until a training call spawns the worker. `up torch`
#   1. installs Debian's python3-torch (torch 1.13 on CPU, about 650 MB) with apt when
#      /usr/bin/python3 cannot find torch — the .deb files stay in "$(cache_dir apt)/archives",
#      so a rebuilt machine reinstalls without downloading;
#   2. creates "$(cache_dir torch)/venv" over that interpreter with --system-site-packages (so
#      it sees Debian's torch and numpy 1.24) and pip-installs pyarrow (the worker reads its
#      training data as Arrow IPC), every package pinned by
#      scripts/services.d/torch-<pyarrow version>-constraints.txt (pyarrow itself and numpy<2:
#      a numpy 2 pulled into this venv would break Debian's torch, RECIPES.md).
# A second `up torch` checks a stamp, imports pyarrow and finds torch: about a second.
#
#   VIGIL_TORCH_DEB_VERSION      Debian's python3-torch version (default 1.13.1+dfsg-4, Debian 12's);
#                                `up` fails when another version is installed
#   VIGIL_TORCH_PYARROW_VERSION  pyarrow release for the venv (default 25.0.1: 26 refuses numpy 1)
#   VIGIL_TORCH_SYSTEM_PYTHON    interpreter that has Debian's torch (default /usr/bin/python3)
#
# `scripts/services env` prints VIGIL_TORCH_PYTHON, the venv's python; the adapter also finds the
# venv at this path by itself (its `python` config defaults to VIGIL_TORCH_PYTHON, then
# $VIGIL_CACHE/torch/venv/bin/python, then ~/.cache/vigil/torch/venv/bin/python).
SERVICES+=(torch)

# No port: the worker is a child process of the trainer.
svc_torch_port() { printf '%s' '-'; }

torch_venv() { printf '%s/venv' "$(cache_dir torch)"; }

torch_system_python() { printf '%s' "${VIGIL_TORCH_SYSTEM_PYTHON:-/usr/bin/python3}"; }

# has_module PYTHON MODULE… — PYTHON finds every MODULE (find_spec, not import: importing torch
# takes seconds).
has_module() {
  local py=$1
  shift
  "$py" -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in sys.argv[1:]))' "$@" 2>/dev/null
}

# The venv imports pyarrow and numpy (fast; this catches a pyarrow that refuses the numpy it finds)
# and finds torch (not imported: that takes seconds).
torch_venv_works() {
  local py
  py="$(torch_venv)/bin/python"
  [[ -x $py ]] && "$py" -c 'import pyarrow, numpy, importlib.util as u, sys; sys.exit(u.find_spec("torch") is None)' 2>/dev/null
}

TORCH_DEB_VERSION="${VIGIL_TORCH_DEB_VERSION:-1.13.1+dfsg-4}"

svc_torch_install() {
  local py installed
  py="$(torch_system_python)"
  if ! has_module "$py" torch; then
    [[ $py == /usr/bin/python3 ]] || die "torch: $py cannot import torch; install it there or unset VIGIL_TORCH_SYSTEM_PYTHON"
    log "torch: installing Debian's python3-torch $TORCH_DEB_VERSION (about 650 MB; the .deb files are cached)"
    apt_install "python3-torch=$TORCH_DEB_VERSION" || die "torch: apt-get could not install python3-torch=$TORCH_DEB_VERSION"
    has_module "$py" torch || die "torch: python3-torch installed but $py still cannot find torch"
  fi
  if [[ $py == /usr/bin/python3 ]]; then
    installed="$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || true)"
    [[ $installed == "$TORCH_DEB_VERSION" ]] ||
      die "torch: python3-torch ${installed:-(not from apt)} is installed, not the pinned $TORCH_DEB_VERSION (VIGIL_TORCH_DEB_VERSION)"
  fi
  pinned_venv_install torch pyarrow "${VIGIL_TORCH_PYARROW_VERSION:-25.0.1}" python "$py" --system-site-packages
  torch_venv_works ||
    die "torch: the venv at $(torch_venv) cannot import pyarrow and numpy or does not see torch (see $VIGIL_SERVICES_DIR/torch-pip.log)"
}

# Nothing to run: the venv is the service.
svc_torch_start() {
  die "torch is install-only; its venv at $(torch_venv) does not find torch and pyarrow (see $VIGIL_SERVICES_DIR/torch-pip.log)"
}

svc_torch_ready() {
  local venv
  venv="$(torch_venv)"
  ls "$venv"/.vigil-torch-* >/dev/null 2>&1 && torch_venv_works
}

svc_torch_env() {
  printf 'export VIGIL_TORCH_PYTHON=%q\n' "$(torch_venv)/bin/python"
}
