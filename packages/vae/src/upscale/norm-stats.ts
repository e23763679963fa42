/**
 * Shared GroupNorm statistics for tiled processing. A GroupNorm normalises over the whole image, so
 * a tile normalised with its own statistics drifts in colour and contrast from its neighbours. In
 * 'record' mode every GroupNorm of the model accumulates, per sample and group, the sum of the
 * per-tile means and mean squares (weighted by tile size) while computing normally; in 'apply' mode
 * it normalises with the accumulated (whole-image) mean and variance instead of the tile's own.
 * Everything stays on the backend and synchronous, so it works on every backend.
 */
import * as C from '@sdxs/core';

interface Acc {
  sum: C.Tensor;
  sq: C.Tensor;
  count: number;
}

type Forward = (x: C.Tensor) => C.Tensor;

export type NormStatsMode = 'off' | 'record' | 'apply';

export class SharedGroupNormStats {
  mode: NormStatsMode = 'off';
  private readonly acc = new Map<C.nn.GroupNorm, Acc>();
  private readonly restore: (() => void)[] = [];

  /** Hooks every GroupNorm under `module`; `uninstall()` undoes it. */
  constructor(module: C.Module) {
    for (const [, m] of module.namedModules()) {
      if (!(m instanceof C.nn.GroupNorm)) continue;
      const gn = m;
      const original: Forward = gn.forward.bind(gn);
      gn.forward = (x: C.Tensor): C.Tensor => this.forward(gn, original, x);
      this.restore.push(() => {
        delete (gn as unknown as { forward?: Forward }).forward;
      });
    }
  }

  private forward(gn: C.nn.GroupNorm, original: Forward, x: C.Tensor): C.Tensor {
    if (this.mode === 'off') return original(x);
    if (this.mode === 'record') {
      this.record(gn, x);
      return original(x);
    }
    const a = this.acc.get(gn);
    if (!a) return original(x);
    return C.tidy(() => {
      const n = x.shape[0]!;
      const g = gn.numGroups;
      const mean = C.reshape(C.div(a.sum, a.count), [n, g, 1]);
      const variance = C.maximum(C.sub(C.reshape(C.div(a.sq, a.count), [n, g, 1]), C.square(mean)), 0);
      const grouped = C.reshape(x, [n, g, -1]);
      let y = C.reshape(C.mul(C.sub(grouped, mean), C.rsqrt(C.add(variance, gn.eps))), x.shape);
      const bshape = [1, gn.numChannels, ...x.shape.slice(2).map(() => 1)];
      if (gn.weight) y = C.mul(y, C.reshape(gn.weight.use(), bshape));
      if (gn.bias) y = C.add(y, C.reshape(gn.bias.use(), bshape));
      return y;
    });
  }

  private record(gn: C.nn.GroupNorm, x: C.Tensor): void {
    const n = x.shape[0]!;
    const per = x.size / (n * gn.numGroups);
    const [m, q] = C.tidy(() => {
      const grouped = C.reshape(x, [n, gn.numGroups, -1]);
      return [C.mul(C.mean(grouped, 2), per), C.mul(C.mean(C.square(grouped), 2), per)];
    });
    const a = this.acc.get(gn);
    if (!a) {
      this.acc.set(gn, { sum: C.keep(m), sq: C.keep(q), count: per });
      return;
    }
    const [s2, q2] = C.tidy(() => [C.add(a.sum, m), C.add(a.sq, q)]);
    C.dispose([a.sum, a.sq, m, q]);
    a.sum = C.keep(s2);
    a.sq = C.keep(q2);
    a.count += per;
  }

  /** Forget the accumulated statistics (keeps the hooks). */
  clear(): void {
    for (const a of this.acc.values()) C.dispose([a.sum, a.sq]);
    this.acc.clear();
  }

  uninstall(): void {
    this.clear();
    for (const r of this.restore) r();
    this.restore.length = 0;
    this.mode = 'off';
  }
}
