/** diffusers `Timesteps` (sinusoidal projection, no weights) and `TimestepEmbedding` (Linear → SiLU → Linear). */
import * as C from '@sdxs/core';

/**
 * Frequencies of diffusers' `get_timestep_embedding`, computed the way PyTorch does in float32:
 * exp(-ln(max_period) * i / (half - shift)) for i < half.
 */
export function timestepFrequencies(dim: number, freqShift: number, maxPeriod = 10000): Float32Array {
  const half = Math.floor(dim / 2);
  const f = Math.fround;
  const out = new Float32Array(half);
  const a = f(-Math.log(maxPeriod));
  const den = f(half - freqShift);
  for (let i = 0; i < half; i++) out[i] = f(Math.exp(f(f(a * i) / den)));
  return out;
}

/**
 * Sinusoidal embedding of float timesteps `[B]` → `[B, dim]`: `[sin, cos]`, or `[cos, sin]` when
 * `flipSinToCos`; an odd `dim` gets a trailing zero column.
 */
export function timestepEmbedding(timesteps: C.Tensor, dim: number, flipSinToCos: boolean, freqShift: number): C.Tensor {
  return C.tidy(() => {
    const freqs = timestepFrequencies(dim, freqShift);
    const half = freqs.length;
    const b = timesteps.shape[0]!;
    const args = C.mul(C.reshape(timesteps, [b, 1]), C.fromData(freqs, [1, half], 'float32'));
    const s = C.sin(args);
    const c = C.cos(args);
    let emb = C.concat(flipSinToCos ? [c, s] : [s, c], 1);
    if (dim % 2 === 1) emb = C.pad(emb, [[0, 0], [0, 1]]);
    return emb;
  });
}

/** diffusers TimestepEmbedding with act_fn silu and no cond_proj / post_act: names linear_1, linear_2. */
export class TimestepEmbedding extends C.Module {
  readonly linear_1: C.nn.Linear;
  readonly linear_2: C.nn.Linear;
  constructor(inChannels: number, timeEmbedDim: number) {
    super();
    this.linear_1 = new C.nn.Linear(inChannels, timeEmbedDim);
    this.linear_2 = new C.nn.Linear(timeEmbedDim, timeEmbedDim);
  }
  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => this.linear_2.forward(C.silu(this.linear_1.forward(x))));
  }
}
