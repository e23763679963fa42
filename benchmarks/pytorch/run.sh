#!/usr/bin/env bash
# Runs bench.py inside the Debian 13 chroot made by setup-chroot.sh and writes bench-results/pytorch.json
# at the root of the checkout this script is in. Arguments go to bench.py, e.g.
#   sudo benchmarks/pytorch/run.sh --cases vae-decode-32-512,unet-step-32-b2 --dtypes fp32 --runs 2
# Env: SDXS_CHROOT (default /opt/trixie), SDXS_BENCH_OUT (default <repo>/bench-results/pytorch.json),
# SDXS_PYTORCH_PYTHON + SDXS_PYTORCH_PATH (a venv's python and its PYTHONPATH instead of the chroot).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))"
chroot_dir="${SDXS_CHROOT:-/opt/trixie}"
out="${SDXS_BENCH_OUT:-$root/bench-results/pytorch.json}"

# A venv instead of the chroot (shared/TESTING.md: the machine's wheel folder gives PyTorch 2.13 in a minute):
#   SDXS_PYTORCH_PYTHON=/work/.cache-pytorch/venv/bin/python SDXS_PYTORCH_PATH=<diffusers>/src benchmarks/pytorch/run.sh ...
if [ -n "${SDXS_PYTORCH_PYTHON:-}" ]; then
  mkdir -p "$(dirname "$out")"
  PYTHONPATH="${SDXS_PYTORCH_PATH:-}" HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1 "$SDXS_PYTORCH_PYTHON" "$here/bench.py" "$@" > "$out.partial"
  mv "$out.partial" "$out"
  echo "run.sh: wrote $out (PyTorch from $SDXS_PYTORCH_PYTHON)" >&2
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "run.sh: chroot needs root" >&2; exit 1; }
[ -x "$chroot_dir/usr/bin/python3" ] || { echo "run.sh: no chroot at $chroot_dir: run benchmarks/pytorch/setup-chroot.sh first" >&2; exit 1; }
# torch reads /proc/cpuinfo to pick its AVX-512 kernels, and bench.py reads /proc/self for RSS
mountpoint -q "$chroot_dir/proc" || mount -t proc proc "$chroot_dir/proc"

# copy (not bind-mount) the script: nothing to unmount afterwards, and the chroot sees this checkout's version
install -D -m 0644 "$here/bench.py" "$chroot_dir/opt/sdxs-bench/bench.py"
pythonpath=/opt/pysrc/diffusers/src:/opt/pysrc/huggingface_hub/src:/opt/pysrc/transformers/src:/opt/pysrc/stubs

mkdir -p "$(dirname "$out")"
tmp="$out.partial"
chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  PYTHONPATH="$pythonpath" HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1 \
  python3 /opt/sdxs-bench/bench.py "$@" > "$tmp"
mv "$tmp" "$out"
echo "run.sh: wrote $out" >&2
