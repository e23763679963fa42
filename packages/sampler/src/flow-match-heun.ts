/**
 * Heun's second-order method for the flow ODE, with diffusers' FlowMatchHeunDiscreteScheduler layout:
 * timesteps [t0, t1, t1, …, t_{n−1}, t_{n−1}] (2n − 1 model evaluations) and sigmas
 * [s0, s1, s1, …, s_{n−1}, s_{n−1}, 0]. Each step from s_i to s_{i+1} averages the velocity at both ends;
 * the final step to sigma 0 is an Euler step (the last model evaluation happens at s_{n−1}). The schedule
 * itself (shift, dynamic shift, custom sigmas, …) is the Euler scheduler's.
 */
import * as C from '@sdxs/core';
import { FlowMatchEulerDiscreteScheduler, type SetTimestepsOptions, type StepOptions } from './flow-match-euler.js';

export class FlowMatchHeunDiscreteScheduler extends FlowMatchEulerDiscreteScheduler {
  override readonly order: number = 2;
  private prevDerivative: C.Tensor | null = null;
  private prevSample: C.Tensor | null = null;
  private dt: number | null = null;

  protected override classNames(): string[] {
    return ['FlowMatchHeunDiscreteScheduler', 'FlowMatchEulerDiscreteScheduler'];
  }

  override setTimesteps(n: number, opts: SetTimestepsOptions = {}): void {
    if (this.config.invertSigmas) throw new C.ConfigError('unsupported: invert_sigmas=true with the Heun scheduler');
    if (this.config.stochasticSampling) throw new C.ConfigError('unsupported: stochastic_sampling=true with the Heun scheduler');
    const { sigmas, timesteps } = this.schedule(n, opts);
    const withZero = new Float32Array(sigmas.length + 1);
    withZero.set(sigmas);
    const s: number[] = [withZero[0]!];
    for (let i = 1; i < withZero.length - 1; i++) s.push(withZero[i]!, withZero[i]!);
    s.push(0);
    const t: number[] = [timesteps[0]!];
    for (let i = 1; i < timesteps.length; i++) t.push(timesteps[i]!, timesteps[i]!);
    this.numInferenceSteps = n;
    this.reset();
    this.sigmas = Float32Array.from(s);
    this.timesteps = Float32Array.from(t);
    this.stepIndex = null;
    this.beginIndex = null;
  }

  /** True when the next call to `step` starts a new step (evaluates at its left end). */
  get stateInFirstOrder(): boolean {
    return this.dt === null;
  }

  private reset(): void {
    this.prevDerivative?.dispose();
    this.prevSample?.dispose();
    this.prevDerivative = null;
    this.prevSample = null;
    this.dt = null;
  }

  override step(modelOutput: C.Tensor, timestep: number, sample: C.Tensor, _opts: StepOptions = {}): C.Tensor {
    if (this.numInferenceSteps === 0) throw new C.InputError('call setTimesteps(n) before step()');
    if (this.stepIndex === null) this.initStepIndex(timestep);
    const i = this.stepIndex!;
    let out: C.Tensor;
    if (this.dt === null) {
      const sigma = this.sigmas[i]!;
      const next = this.sigmas[i + 1]!;
      const dt = Math.fround(next - sigma);
      out = C.tidy(() => C.add(sample, C.mul(modelOutput, dt)));
      if (next !== 0) {
        // keep the left-end state for the corrector
        this.prevDerivative = C.keep(C.tidy(() => C.add(modelOutput, 0)));
        this.prevSample = C.keep(C.tidy(() => C.add(sample, 0)));
        this.dt = dt;
      }
    } else {
      const dt = this.dt;
      const d = this.prevDerivative!;
      const x = this.prevSample!;
      out = C.tidy(() => C.add(x, C.mul(C.mul(C.add(d, modelOutput), 0.5), dt)));
      this.reset();
    }
    this.stepIndex = i + 1;
    return out;
  }
}
