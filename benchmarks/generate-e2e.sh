#!/usr/bin/env bash
# End to end: `sdxs generate -W 512 -H 512 --steps 8` on a full-size random-weight model (real configs), twice
# in fresh processes (cold: first read of the weights from disk; warm: page cache filled), with wall time and
# peak RSS from GNU time. Writes bench-results/generate-e2e.md.
#   benchmarks/generate-e2e.sh [model-dir] [backend]     (default: make one in .tmp/sdxs-real; ort-cpu)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-$root/.tmp/sdxs-real}"
backend="${2:-ort-cpu}"
out="$root/bench-results"
mkdir -p "$out"
[ -f "$model/model_index.json" ] || node --conditions=sdxs-source --import tsx "$root/benchmarks/make-real-model.ts" "$model"
[ -f "$root/packages/cli/dist/bin.js" ] || (cd "$root" && npm run build)
echo "| run | backend | wall s | peak RSS GiB |" > "$out/generate-e2e.md"
echo "|---|---|---:|---:|" >> "$out/generate-e2e.md"
for run in cold warm; do
  [ "$run" = cold ] && { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
  log="$out/generate-e2e-$run.log"
  /usr/bin/time -v node "$root/packages/cli/dist/bin.js" generate "a red fox in fresh snow" --model "$model" \
    -W 512 -H 512 --steps 8 --seed 1 --backend "$backend" -o "$out/generate-e2e-$run.png" 2> "$log" || { tail -20 "$log"; exit 1; }
  wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$log" | awk '{printf "%.1f", $NF/1048576}')
  echo "| $run | $backend | $wall | $rss |" >> "$out/generate-e2e.md"
done
cat "$out/generate-e2e.md"
