import * as C from '@sdxs/core';

/**
 * diffusers DiagonalGaussianDistribution: the encoder's moments split on channels into mean and
 * logvar (clamped to [-30, 20]). Owns its tensors: call `dispose()` when done.
 */
export class DiagonalGaussian {
  readonly mean: C.Tensor;
  readonly logvar: C.Tensor;

  constructor(moments: C.Tensor) {
    const [mean, logvar] = C.tidy(() => {
      const [m, lv] = C.split(moments, 2, 1) as [C.Tensor, C.Tensor];
      return [m, C.clamp(lv, -30, 20)];
    });
    this.mean = mean;
    this.logvar = logvar;
  }

  /** Standard deviation exp(logvar / 2) (a new tensor). */
  std(): C.Tensor {
    return C.tidy(() => C.exp(C.mul(this.logvar, 0.5)));
  }

  /** mean + std · ε with ε ~ N(0, 1) drawn from `seed` (host generator: the same on every backend). */
  sample(seed?: number | C.RandomGenerator): C.Tensor {
    return C.tidy(() => {
      const eps =
        seed instanceof C.RandomGenerator ? C.randomNormal(this.mean.shape, { generator: seed }) : C.randomNormal(this.mean.shape, { seed: seed ?? Date.now() });
      return C.add(this.mean, C.mul(this.std(), eps));
    });
  }

  /** The mode (= mean), as a new tensor the caller owns. */
  mode(): C.Tensor {
    return C.tidy(() => C.add(this.mean, 0));
  }

  dispose(): void {
    this.mean.dispose();
    this.logvar.dispose();
  }
}
