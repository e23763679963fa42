#!/usr/bin/env bash
# Builds (or refreshes) the Debian 13 "trixie" chroot with PyTorch 2.6 that benchmarks/pytorch/run.sh uses
# (shared/TESTING.md, "A PyTorch reference for side-by-side benchmarks"). Idempotent: re-running skips
# debootstrap when it already completed, re-installs nothing already installed, re-extracts the sources.
#
#   sudo benchmarks/pytorch/setup-chroot.sh [--diffusers GITDIR] [--hub GITDIR] [--transformers GITDIR|WHEEL]
#
# GITDIR is a bare git directory (the `fetch` tool's mirror, e.g. /work/.mirror/huggingface+diffusers/repo);
# its HEAD's src/<pkg> is extracted with `git archive`. transformers may also be given as a wheel file
# (its mirror can be too large to fetch); it must contain models/qwen3_5.
# The same can be given as env vars: DIFFUSERS_GIT, HF_HUB_GIT, TRANSFORMERS_SRC; SDXS_CHROOT (default
# /opt/trixie), DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

chroot_dir="${SDXS_CHROOT:-/opt/trixie}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
diffusers_git="${DIFFUSERS_GIT:-/work/.mirror/huggingface+diffusers/repo}"
hub_git="${HF_HUB_GIT:-/work/.mirror/huggingface+huggingface_hub/repo}"
transformers_src="${TRANSFORMERS_SRC:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --diffusers) diffusers_git="$2"; shift 2 ;;
    --hub) hub_git="$2"; shift 2 ;;
    --transformers) transformers_src="$2"; shift 2 ;;
    --chroot) chroot_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "setup-chroot.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$transformers_src" ]; then
  for c in /work/.mirror/huggingface+transformers/repo /opt/pypi/files/transformers-5.17.0-py3-none-any.whl; do
    if [ -e "$c" ]; then transformers_src="$c"; break; fi
  done
fi
for v in diffusers_git hub_git transformers_src; do
  [ -n "${!v}" ] && [ -e "${!v}" ] || { echo "setup-chroot.sh: $v not found ('${!v}'): pass it (see --help)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "setup-chroot.sh: needs root" >&2; exit 1; }
say() { echo "[setup-chroot] $*" >&2; }
in_chroot() { chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# 1. the base system with python3-torch (2.6.0 in trixie)
if [ ! -e "$chroot_dir/.sdxs-debootstrap-done" ] && [ -x "$chroot_dir/usr/bin/python3" ] \
  && chroot "$chroot_dir" /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1; then
  touch "$chroot_dir/.sdxs-debootstrap-done"  # made before this script (by hand, as TESTING.md says)
fi
if [ ! -e "$chroot_dir/.sdxs-debootstrap-done" ]; then
  if [ -e "$chroot_dir" ] && [ -n "$(ls -A "$chroot_dir" 2>/dev/null)" ]; then
    echo "setup-chroot.sh: $chroot_dir exists but has no working python3 + torch (an interrupted debootstrap?): remove it first" >&2
    exit 1
  fi
  command -v debootstrap >/dev/null || apt-get install -y debootstrap
  say "debootstrap trixie into $chroot_dir (a few minutes)"
  debootstrap --variant=minbase --include=python3,python3-torch,python3-numpy trixie "$chroot_dir" "$mirror"
  touch "$chroot_dir/.sdxs-debootstrap-done"
fi
mountpoint -q "$chroot_dir/proc" || mount -t proc proc "$chroot_dir/proc"
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
# this workplace's archive snapshots can look expired to apt
printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' > "$chroot_dir/etc/apt/apt.conf.d/99sdxs-bench"

# 2. the Python dependencies Debian has (libopenblas0-pthread: else torch's BLAS calls hit the reference BLAS)
pkgs=(python3-safetensors python3-regex python3-filelock python3-requests python3-yaml python3-tqdm python3-jinja2
  python3-pil python3-packaging python3-httpx libopenblas0-pthread python3-typer)
missing=()
for p in "${pkgs[@]}"; do in_chroot dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  in_chroot apt-get update
  in_chroot apt-get install -y "${missing[@]}"
fi
for p in python3-tokenizers python3-huggingface-hub; do  # not in trixie when this was written
  if ! in_chroot dpkg -s "$p" >/dev/null 2>&1 && in_chroot apt-cache show "$p" >/dev/null 2>&1; then
    in_chroot apt-get install -y "$p"
  fi
done

# 3. the sources, on PYTHONPATH (run.sh): /opt/pysrc/{diffusers,huggingface_hub,transformers}/src, /opt/pysrc/stubs
pysrc="$chroot_dir/opt/pysrc"
rm -rf "$pysrc"
mkdir -p "$pysrc/diffusers" "$pysrc/huggingface_hub" "$pysrc/transformers/src" "$pysrc/stubs"
git --git-dir="$diffusers_git" archive HEAD src/diffusers | tar -x -C "$pysrc/diffusers"
git --git-dir="$hub_git" archive HEAD src/huggingface_hub | tar -x -C "$pysrc/huggingface_hub"
{
  echo "diffusers $(git --git-dir="$diffusers_git" rev-parse HEAD) $(git --git-dir="$diffusers_git" log -1 --format=%cs HEAD)"
  echo "huggingface_hub $(git --git-dir="$hub_git" rev-parse HEAD) $(git --git-dir="$hub_git" log -1 --format=%cs HEAD)"
} > "$pysrc/SOURCES.txt"
if [ -d "$transformers_src" ]; then
  git --git-dir="$transformers_src" archive HEAD src/transformers | tar -x -C "$pysrc/transformers"
  echo "transformers $(git --git-dir="$transformers_src" rev-parse HEAD)" >> "$pysrc/SOURCES.txt"
else
  python3 - "$transformers_src" "$pysrc/transformers/src" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("transformers/")])
EOF
  echo "transformers $(basename "$transformers_src") $(sha256sum "$transformers_src" | cut -c1-16)" >> "$pysrc/SOURCES.txt"
fi
t="$pysrc/transformers/src/transformers"
[ -f "$t/models/qwen3_5/modeling_qwen3_5.py" ] || { echo "setup-chroot.sh: $transformers_src has no models/qwen3_5" >&2; exit 1; }

# huggingface_hub from a source tree has no dist-info: give it one, as `pip install` would, so that
# importlib.metadata (transformers' and diffusers' version checks) finds its version
hubver=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$pysrc/huggingface_hub/src/huggingface_hub/__init__.py")
mkdir -p "$pysrc/huggingface_hub/src/huggingface_hub-$hubver.dist-info"
printf 'Metadata-Version: 2.1\nName: huggingface_hub\nVersion: %s\n' "$hubver" \
  > "$pysrc/huggingface_hub/src/huggingface_hub-$hubver.dist-info/METADATA"

# transformers checks at import time that regex, safetensors and tokenizers are new enough. Trixie has
# regex 2024.11 and safetensors 0.5 (both older than transformers 5 asks for) and no tokenizers at all;
# none of them runs in a forward pass on token ids with random weights, so drop those three checks.
sed -i -E 's/^    "(regex|safetensors|tokenizers)",$/    # "\1",  (sdxs-bench: Debian trixie version too old or absent; unused for modelling)/' \
  "$t/dependency_versions_check.py"

# tokenizers (Rust) is not packaged in trixie; modeling_utils imports it via the GGUF helpers, so a stub
# stands in whose classes raise if anything tries to tokenize
if ! in_chroot python3 -c 'import tokenizers' >/dev/null 2>&1; then
  mkdir -p "$pysrc/stubs/tokenizers"
  cat > "$pysrc/stubs/tokenizers/__init__.py" <<'EOF'
"""sdxs-bench stub: Hugging Face `tokenizers` is not packaged in Debian trixie. transformers' modelling code
imports it (GGUF and tokenizer conversion helpers) but never calls it for a forward pass on token ids.
Any attribute is a placeholder class that raises when instantiated."""
__version__ = "0.0.0-stub"


def _placeholder(name):
    def _fail(*args, **kwargs):
        raise ImportError(f"tokenizers.{name}: the sdxs-bench tokenizers stub cannot tokenize")

    return type(name, (), {"__init__": _fail, "from_file": staticmethod(_fail), "from_str": staticmethod(_fail)})


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    return _placeholder(name)


_SUBMODULES = ("decoders", "models", "normalizers", "pre_tokenizers", "processors", "trainers", "tools")
EOF
  for m in decoders models normalizers pre_tokenizers processors trainers tools; do
    printf 'from tokenizers import _placeholder\n\n\ndef __getattr__(name):\n    if name.startswith("__"):\n        raise AttributeError(name)\n    return _placeholder(name)\n' \
      > "$pysrc/stubs/tokenizers/$m.py"
  done
  echo "tokenizers stub (sdxs-bench)" >> "$pysrc/SOURCES.txt"
fi

# 4. smoke test
in_chroot env PYTHONPATH=/opt/pysrc/diffusers/src:/opt/pysrc/huggingface_hub/src:/opt/pysrc/transformers/src:/opt/pysrc/stubs \
  HF_HUB_OFFLINE=1 python3 -c '
import torch, diffusers, transformers, huggingface_hub
from diffusers import AsymmetricAutoencoderKL, UNet2DConditionModel
from transformers import Qwen3_5TextModel, Qwen3_5TextConfig
print("torch", torch.__version__, torch.backends.cpu.get_cpu_capability(), "| diffusers", diffusers.__version__,
      "| transformers", transformers.__version__, "| huggingface_hub", huggingface_hub.__version__)
'
cat "$pysrc/SOURCES.txt" >&2
say "ready: benchmarks/pytorch/run.sh"
