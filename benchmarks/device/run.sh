#!/usr/bin/env bash
# The device run (issue 16): on the GPU machine, one call of the device tool,
#   command: bash benchmarks/device/run.sh        carry: [".device-carry"]        timeout_s: 540
# unpacks the carry folder that benchmarks/device/pack.sh filled (Node, onnxruntime-node, the built packages, the
# Vulkan loader), sets up NVIDIA's Vulkan driver, then checks ort-webgpu and ort-cuda against ort-cpu on the fixtures
# and times a UNet step, a VAE decode and `sdxs generate` on real-config random weights beside PyTorch bf16, in
# float16 and float32 compute. It writes device-run.json, device-run.md and device-run.log to $OUT, within a
# budget (default 450 s from its start; each stage has a cap, and one the budget cannot hold is recorded as skipped).
#
#   benchmarks/device/run.sh --dry-run      here: packs first, then the same stages at tiny sizes on SwiftShader
#                                           (PyTorch on the CPU if DEVICE_PYTHON's python has torch, else skipped),
#                                           into OUT (default a new temp folder)
# Options: --budget S, --only unet-step,vae-decode,generate (parity always runs), --no-pack (dry run: use the carry
# folder as it is). Env: DEVICE_CARRY (default .device-carry), DEVICE_WORK (scratch), DEVICE_PYTHON (python3).
set -uo pipefail
start=$(date +%s)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
carry="${DEVICE_CARRY:-$root/.device-carry}"
dry=0
pack=1
budget=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --no-pack) pack=0 ;;
    --budget) budget="$2"; shift ;;
    --only) only="$2"; shift ;;
    *) echo "usage: run.sh [--dry-run] [--no-pack] [--budget S] [--only a,b]" >&2; exit 2 ;;
  esac
  shift
done
say() { echo "[run.sh +$(($(date +%s) - start))s] $*" >&2; }
die() { echo "[run.sh] error: $*" >&2; exit 1; }

if [ "$dry" = 1 ]; then
  mode=dry-run
  budget="${budget:-240}"
  OUT="${OUT:-$(mktemp -d)}"
  work="${DEVICE_WORK:-$(mktemp -d)}"
  if [ "$pack" = 1 ]; then
    DEVICE_CARRY="$carry" bash "$root/benchmarks/device/pack.sh" >/dev/null || die "pack.sh failed"
    start=$(date +%s) # the budget is the run's, packing aside
  fi
else
  mode=device
  budget="${budget:-450}"
  OUT="${OUT:-$(mktemp -d)}"
  work="${DEVICE_WORK:-/tmp/sdxs-device-run}"
fi
mkdir -p "$OUT" "$work"
[ -f "$carry/node.xz" ] || die "no carry folder at $carry: run benchmarks/device/pack.sh here first and name it in carry"

# --- unpack (xz, or Python's lzma where xz is missing)
unxz_to() { if command -v xz >/dev/null; then xz -dc "$1" > "$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi; }
untar() { if command -v xz >/dev/null; then xz -dc "$1" | tar -x -C "$2"; else python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$1" "$2"; fi; }
rm -rf "$work/app" "$work/scratch"
mkdir -p "$work/app" "$work/scratch"
untar "$carry/app.tar.xz" "$work" || die "unpacking app.tar.xz failed"
for f in ort native diffusers; do
  if [ -f "$carry/$f.tar.xz" ]; then
    untar "$carry/$f.tar.xz" "$work/app" || die "unpacking $f.tar.xz failed"
  fi
done
unxz_to "$carry/node.xz" "$work/app/node" && chmod +x "$work/app/node" || die "unpacking node.xz failed"
node="$work/app/node"
say "node $("$node" --version) unpacked into $work/app ($(du -sh "$work/app" | cut -f1))"

# --- Vulkan: the loader from the carried .debs; NVIDIA's driver on the device, SwiftShader in the dry run
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work}"
if [ "$mode" = device ]; then
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    for f in "$carry"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    say "Vulkan loader installed from the carried .debs"
  fi
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"; break; fi
  done
  egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
  say "Vulkan ICD: ${VK_DRIVER_FILES:-none found}"
  python="${DEVICE_PYTHON:-python3}"
else
  # the same .debs, unpacked beside the run instead of over this machine's /
  for f in "$carry"/gl/*.deb; do dpkg -x "$f" "$work/gl"; done
  export LD_LIBRARY_PATH="$work/gl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json
  if [ ! -f "$swiftshader" ] && [ "$(id -u)" = 0 ]; then
    say "installing Debian's chromium for its SwiftShader Vulkan driver"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 || true
  fi
  export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-$swiftshader}"
  unset VK_DRIVER_FILES
  say "Vulkan ICD: $VK_ICD_FILENAMES (loader from the carried .debs)"
  python="${DEVICE_PYTHON:-python3}"
fi

# --- the run itself, in what is left of the budget
left=$((budget - ($(date +%s) - start)))
[ "$left" -gt 20 ] || die "only $left s of the $budget s budget left after unpacking"
say "driver: $mode, $left s, results to $OUT"
"$node" "$work/app/bench-main.mjs" drive --mode "$mode" --out "$OUT" --work "$work/scratch" --app "$work/app" --budget "$left" --python "$python" ${only:+--only "$only"}
rc=$?
[ -f "$OUT/device-run.md" ] && cat "$OUT/device-run.md"
say "done (exit $rc): $OUT/device-run.json, $OUT/device-run.md, $OUT/device-run.log"
exit $rc
