/**
 * @sdxs/text-qwen benchmark at the real Qwen3.5-2B text config with random weights, per backend:
 *  - SDXS encoding of a 248-token prompt (hidden_states[-2]: 18 Gated DeltaNet + 5 attention layers),
 *  - prompt-refiner decoding tokens/s (24 layers with caches + the 248,320-row LM head, greedy).
 * A full 1.9 B-parameter random model does not fit the time of a CPU run, so one layer of each kind is built at
 * full width and timed, the LM head is timed on a 16,384-row slab, and the totals are extrapolated
 * (printed as such).
 *
 *   node --import tsx benchmarks/text-qwen.bench.ts [--backends cpu,tfjs-wasm] [--reps 2] [--prompt 248] [--context 160]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type * as Core from '../packages/core/src/index.js';
import type * as TextQwen from '../packages/text-qwen/src/index.js';
import type { BenchCase, BenchSuite } from './harness.js';

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
// Workspace packages resolve to their sources under the `sdxs-source` condition: re-run with it if missing.
if (isMain && !process.execArgv.some((a) => a.includes('sdxs-source')) && !(process.env.NODE_OPTIONS ?? '').includes('sdxs-source')) {
  const r = spawnSync(process.execPath, ['--conditions=sdxs-source', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
// imported after the check above: without the condition '@sdxs/core' would resolve to a stale dist build
const C: typeof Core = await import('../packages/core/src/index.js');
const { Qwen35TextModel, parseQwen35Config }: typeof TextQwen = await import('../packages/text-qwen/src/index.js');
type Qwen35TextModel = TextQwen.Qwen35TextModel;

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};

const { QWEN35_2B } = await import('./qwen-config.js');
const real = parseQwen35Config(QWEN35_2B);
const ENCODER_LINEAR = real.layerTypes.slice(0, real.numHiddenLayers - 1).filter((t) => t === 'linear_attention').length;
const ENCODER_FULL = real.numHiddenLayers - 1 - ENCODER_LINEAR;
const ALL_LINEAR = real.layerTypes.filter((t) => t === 'linear_attention').length;
const ALL_FULL = real.numHiddenLayers - ALL_LINEAR;
const HEAD_SLAB = 16384;
/** Tiny widths for `--quick`. */
const QUICK = { ...QWEN35_2B, hidden_size: 64, intermediate_size: 128, head_dim: 32, linear_key_head_dim: 16, linear_value_head_dim: 16, linear_num_key_heads: 2, linear_num_value_heads: 4, num_attention_heads: 4 };

/** One decoder layer of a kind at full width, small vocabulary, random weights. */
function probe(kind: 'linear_attention' | 'full_attention', seed: number, quick = false): Qwen35TextModel {
  const cfg = parseQwen35Config({ ...(quick ? QUICK : QWEN35_2B), vocab_size: 1024, num_hidden_layers: 1, layer_types: [kind] });
  const m = new Qwen35TextModel(cfg);
  let s = seed;
  for (const [name, p] of m.namedParameters()) {
    const shape = [...p.shape];
    if (name.endsWith('A_log')) p.set(C.fromData(Float32Array.from({ length: shape[0]! }, (_, i) => Math.log(1 + (i % 16))), shape, 'float32'));
    else if (name.endsWith('linear_attn.norm.weight')) p.set(C.ones(shape));
    else if (name.endsWith('norm.weight') || name.endsWith('dt_bias')) p.set(C.zeros(shape));
    else p.set(C.randomNormal(shape, { seed: s++, std: 0.02 }));
  }
  return m;
}

async function timeIt(reps: number, fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up (kernel compilation, allocations)
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - t0) / reps;
}

/** ms for one forward of `s` tokens (batch 1) and ms per decode step after `context` cached tokens. */
async function layerTimes(m: Qwen35TextModel, promptLen: number, context: number, reps: number): Promise<{ prefill: number; step: number }> {
  const ids = [Array.from({ length: promptLen }, (_, i) => (i * 37) % 1000)];
  const prefill = await timeIt(reps, async () => {
    const out = m.forward(ids);
    await out.lastHiddenState.data();
    out.lastHiddenState.dispose();
  });
  const cache = m.createCache();
  const warm = m.forward([ids[0]!.slice(0, Math.min(context, promptLen))], null, { cache });
  warm.lastHiddenState.dispose();
  const step = await timeIt(Math.max(reps, 3), async () => {
    const out = m.forward([[7]], null, { cache });
    await out.lastHiddenState.data();
    out.lastHiddenState.dispose();
  });
  cache.dispose();
  return { prefill, step };
}

/** ms for the full LM head on one token (f32 weights and 16-bit storage), from a slab of HEAD_SLAB rows. */
async function headTimes(reps: number): Promise<{ f32: number; bf16: number }> {
  const d = real.hiddenSize;
  const scale = real.vocabSize / HEAD_SLAB;
  const h = C.randomNormal([1, 1, d], { seed: 3 });
  const w = C.randomNormal([HEAD_SLAB, d], { seed: 4, std: 0.02 });
  const f32 = await timeIt(Math.max(reps, 3), async () => {
    const y = C.linear(h, w);
    await y.data();
    y.dispose();
  });
  const w16 = await C.toStorage(w, 'bfloat16');
  const bf16 = await timeIt(Math.max(reps, 3), async () => {
    const y = C.tidy(() => C.linear(h, C.cast(w16, 'float32')));
    await y.data();
    y.dispose();
  });
  C.dispose([h, w, w16]);
  return { f32: f32 * scale, bf16: bf16 * scale };
}

/** Harness cases (`npm run bench -- --suites text-qwen`): one layer of each kind at full width, and the LM-head slab. */
function layerCases(quick: boolean): BenchCase[] {
  const tokens = quick ? 32 : 248;
  const cases: BenchCase[] = [];
  for (const kind of ['linear_attention', 'full_attention'] as const) {
    const label = kind === 'linear_attention' ? 'Gated DeltaNet layer' : 'gated attention layer';
    cases.push({
      name: `${label}${quick ? ' (quick)' : ' (2B width)'}, ${tokens}-token prefill`,
      setup() {
        const m = probe(kind, kind === 'linear_attention' ? 100 : 200, quick);
        const ids = [Array.from({ length: tokens }, (_, i) => (i * 37) % 1000)];
        return { run: () => m.forward(ids).lastHiddenState, dispose: () => m.dispose() };
      },
    });
    cases.push({
      name: `${label}${quick ? ' (quick)' : ' (2B width)'}, decode step after ${tokens} cached tokens`,
      setup() {
        const m = probe(kind, kind === 'linear_attention' ? 100 : 200, quick);
        const cache = m.createCache();
        m.forward([Array.from({ length: tokens }, (_, i) => (i * 37) % 1000)], null, { cache }).lastHiddenState.dispose();
        return { run: () => m.forward([[7]], null, { cache }).lastHiddenState, dispose: () => (cache.dispose(), m.dispose()) };
      },
    });
  }
  const rows = quick ? 1024 : HEAD_SLAB;
  cases.push({
    name: `LM head slab ${rows} x ${quick ? QUICK.hidden_size : real.hiddenSize} (x${(real.vocabSize / rows).toFixed(1)} for the full head), 1 token`,
    flops: 2 * rows * (quick ? QUICK.hidden_size : real.hiddenSize),
    setup() {
      const d = quick ? QUICK.hidden_size : real.hiddenSize;
      const h = C.randomNormal([1, d], { seed: 3 });
      const w = C.randomNormal([rows, d], { seed: 4, std: 0.02 });
      return { run: () => C.linear(h, w), dispose: () => C.dispose([h, w]) };
    },
  });
  return cases;
}

export const suite: BenchSuite = {
  name: 'text-qwen',
  cases({ quick }) {
    return layerCases(quick);
  },
};

/** Standalone: per-layer timings and the extrapolated encoder time and refiner tokens/s per backend. */
async function standalone(): Promise<void> {
  const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

  const reps = Number(arg('reps', '2'));
  const promptLen = Number(arg('prompt', '248'));
  const context = Number(arg('context', '160'));
  const requested = arg('backends', 'cpu,tfjs-cpu,tfjs-wasm,tfjs-webgpu').split(',');
  console.log(`Qwen3.5-2B text tower (random weights, float32 compute): D=${real.hiddenSize}, F=${real.intermediateSize}, ${real.numHiddenLayers} layers, vocab ${real.vocabSize}`);
  console.log(`encoder = ${ENCODER_LINEAR} DeltaNet + ${ENCODER_FULL} attention layers on ${promptLen} tokens; decode = ${ALL_LINEAR} + ${ALL_FULL} layers + LM head, cache of ~${context} tokens`);
  for (const name of requested) {
    const why = await C.backendFailure(name);
    if (why !== null) {
      console.log(`\n[${name}] skipped: ${why.split('\n')[0]}`);
      continue;
    }
    await C.setBackend(name);
    const lin = probe('linear_attention', 100);
    const full = probe('full_attention', 200);
    const tl = await layerTimes(lin, promptLen, context, reps);
    const tf = await layerTimes(full, promptLen, context, reps);
    lin.dispose();
    full.dispose();
    const head = await headTimes(reps);
    const encode = ENCODER_LINEAR * tl.prefill + ENCODER_FULL * tf.prefill;
    const stepF32 = ALL_LINEAR * tl.step + ALL_FULL * tf.step + head.f32;
    const stepBf16 = ALL_LINEAR * tl.step + ALL_FULL * tf.step + head.bf16;
    console.log(`\n[${name}] measured per layer: DeltaNet ${fmt(tl.prefill)} / ${promptLen} tok, ${fmt(tl.step)} / decode step; attention ${fmt(tf.prefill)} / ${promptLen} tok, ${fmt(tf.step)} / step; LM head ${fmt(head.f32)} (f32), ${fmt(head.bf16)} (bf16 storage) / token`);
    console.log(`[${name}] extrapolated: encode ${promptLen}-token prompt ≈ ${fmt(encode)}; refiner decode ≈ ${(1000 / stepF32).toFixed(2)} tok/s (f32 weights), ${(1000 / stepBf16).toFixed(2)} tok/s (bf16 storage); refiner prefill (${promptLen} tok) ≈ ${fmt(ALL_LINEAR * tl.prefill + ALL_FULL * tf.prefill)}`);
  }
}

if (isMain) await standalone();
