#!/usr/bin/env bash
# The Deno job (.ci/run calls it after `npm test`, which builds the packages):
#  1. tools/deno/packed.mjs: the packed packages by npm: specifier in Deno outside the repository, and
#     `deno run -A npm:@sdxs/cli` generating and upscaling with the tiny model on cpu and ort-cpu
#     (pixel-identical to Node);
#  2. tools/deno/ort-webgpu-parity.ts: the VAE and UNet fixtures on ort-webgpu (onnxruntime-web on Deno's own
#     navigator.gpu) on Mesa's lavapipe, which has shader-f16 (float32 and float16 compute).
set -euo pipefail
cd "$(dirname "$0")/.."
DENO=node_modules/.bin/deno
[ -x "$DENO" ] || { echo "deno-test: $DENO is missing (npm ci installs the 'deno' devDependency)" >&2; exit 1; }
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

node tools/deno/packed.mjs

LVP=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
if [ -f "$LVP" ]; then
  # --no-check: Deno does not map the workspace links' ./x.js imports to their .d.ts (the packed check above
  # type-checks the published declarations as npm users get them)
  VK_ICD_FILENAMES="$LVP" "$DENO" test -A --no-check tools/deno/ort-webgpu-parity.ts
else
  echo "SKIP ort-webgpu parity in Deno: no lavapipe ($LVP; apt-get install -y mesa-vulkan-drivers)"
fi
