import type { OpAttrs, OpName, UnaryFn } from '../backend.js';
import { SdxsError } from '../errors.js';
import { arange, cast, tensor, zeros } from '../ops/create.js';
import { conv2d } from '../ops/conv.js';
import * as E from '../ops/elementwise.js';
import { matmul } from '../ops/linalg.js';
import { cumsum, mean, softmax, sum } from '../ops/reduce.js';
import { concat, gather, pad, reshape, slice, transpose } from '../ops/shape.js';
import { tidy } from '../engine.js';
import type { Tensor } from '../tensor.js';

/**
 * One vector-Jacobian product per op, written with the public ops so it runs on every backend.
 * `null` marks an op with no gradient (comparisons are handled inside `binary`).
 */
type Rule<K extends OpName> = (dy: Tensor, inputs: readonly (Tensor | null)[], attrs: OpAttrs[K], out: Tensor) => (Tensor | null)[];
export type VjpTable = { readonly [K in OpName]: Rule<K> | null };

/** Sum a gradient back to the shape of a broadcast operand (done once, for every broadcasting op). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  return tidy(() => {
    const lead = g.rank - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
    const s = axes.length ? sum(g, axes, true) : g;
    return reshape(s, shape);
  });
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const unaryGrad: { readonly [K in UnaryFn]: ((x: Tensor, y: Tensor) => Tensor) | null } = {
  neg: (x) => E.sub(E.mul(x, 0), 1),
  exp: (_, y) => y,
  log: (x) => E.reciprocal(x),
  sqrt: (_, y) => E.div(0.5, y),
  rsqrt: (_, y) => E.mul(E.mul(E.mul(y, y), y), -0.5),
  abs: (x) => E.sign(x),
  sigmoid: (_, y) => E.mul(y, E.sub(1, y)),
  silu: (x) => {
    const s = E.sigmoid(x);
    return E.mul(s, E.add(1, E.mul(x, E.sub(1, s))));
  },
  gelu: (x) => {
    const cdf = E.mul(0.5, E.add(1, E.erf(E.mul(x, Math.SQRT1_2))));
    const pdf = E.mul(E.exp(E.mul(E.mul(x, x), -0.5)), INV_SQRT_2PI);
    return E.add(cdf, E.mul(x, pdf));
  },
  gelu_tanh: (x) => {
    const c = Math.sqrt(2 / Math.PI);
    const x2 = E.mul(x, x);
    const t = E.tanh(E.mul(E.mul(x, E.add(1, E.mul(x2, 0.044715))), c));
    const dt = E.mul(E.sub(1, E.mul(t, t)), E.mul(E.add(1, E.mul(x2, 3 * 0.044715)), c));
    return E.add(E.mul(0.5, E.add(1, t)), E.mul(E.mul(0.5, x), dt));
  },
  softplus: (x) => E.sigmoid(x),
  tanh: (_, y) => E.sub(1, E.mul(y, y)),
  sin: (x) => E.cos(x),
  cos: (x) => E.neg(E.sin(x)),
  square: (x) => E.mul(x, 2),
  reciprocal: (_, y) => E.neg(E.mul(y, y)),
  relu: (x) => E.greater(x, 0),
  floor: null,
  sign: null,
  erf: (x) => E.mul(E.exp(E.neg(E.mul(x, x))), 2 / Math.sqrt(Math.PI)),
};

const x0 = (inputs: readonly (Tensor | null)[]): Tensor => inputs[0]!;

/** dx for nearest resize: one-hot selection matrices along H and W, dx = Mh dy Mwᵀ. */
function nearestSelect(inSize: number, outSize: number): Tensor {
  const scale = Math.fround(inSize / outSize);
  const m = new Float32Array(inSize * outSize);
  for (let o = 0; o < outSize; o++) m[Math.min(Math.floor(Math.fround(o * scale)), inSize - 1) * outSize + o] = 1;
  return tensor(m, [inSize, outSize]);
}

function conv2dInputGrad(dy: Tensor, x: Tensor, w: Tensor, a: OpAttrs['conv2d']): Tensor {
  return tidy(() => {
    const [, C, H, W] = x.shape as [number, number, number, number];
    const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
    const [sh, sw] = a.stride;
    const [dh, dw] = a.dilation;
    const g = a.groups;
    let d = dy;
    const [N, , OH, OW] = dy.shape as [number, number, number, number];
    if (sw > 1) d = slice(reshape(pad(reshape(d, [N, O, OH, OW, 1]), [[0, 0], [0, sw - 1]]), [N, O, OH, OW * sw]), [0, 0, 0, 0], [-1, -1, -1, (OW - 1) * sw + 1]);
    if (sh > 1) {
      const cw = d.shape[3]!;
      d = slice(reshape(pad(reshape(d, [N, O, OH, 1, cw]), [[0, 0], [0, sh - 1], [0, 0]]), [N, O, OH * sh, cw]), [0, 0, 0, 0], [-1, -1, (OH - 1) * sh + 1, -1]);
    }
    const flip = (n: number): Tensor => arange(n - 1, -1, -1, 'int32');
    let wf = gather(gather(w, flip(KH), 2), flip(KW), 3);
    wf = reshape(transpose(reshape(wf, [g, O / g, Cg, KH, KW]), [0, 2, 1, 3, 4]), [C, O / g, KH, KW]);
    const effH = dh * (KH - 1);
    const effW = dw * (KW - 1);
    const remH = H + a.padding[0] + a.padding[1] - effH - 1 - (OH - 1) * sh;
    const remW = W + a.padding[2] + a.padding[3] - effW - 1 - (OW - 1) * sw;
    const p = [effH - a.padding[0], effH - a.padding[1] + remH, effW - a.padding[2], effW - a.padding[3] + remW] as const;
    const padded = pad(d, [[Math.max(p[0], 0), Math.max(p[1], 0)], [Math.max(p[2], 0), Math.max(p[3], 0)]]);
    const cropped = slice(padded, [0, 0, Math.max(-p[0], 0), Math.max(-p[2], 0)], [-1, -1, padded.shape[2]! - Math.max(-p[0], 0) - Math.max(-p[1], 0), padded.shape[3]! - Math.max(-p[2], 0) - Math.max(-p[3], 0)]);
    return conv2d(cropped, wf, null, { dilation: [dh, dw], groups: g });
  });
}

function conv2dWeightGrad(dy: Tensor, x: Tensor, w: Tensor, a: OpAttrs['conv2d']): Tensor {
  return tidy(() => {
    const [, C] = x.shape as [number, number];
    const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
    const g = a.groups;
    const Og = O / g;
    const parts: Tensor[] = [];
    for (let gi = 0; gi < g; gi++) {
      const xg = g === 1 ? x : slice(x, [0, gi * Cg, 0, 0], [-1, Cg, -1, -1]);
      const dyg = g === 1 ? dy : slice(dy, [0, gi * Og, 0, 0], [-1, Og, -1, -1]);
      // correlate x (channels as batch) with dy (batch as channels): [Cg, Og, kh', kw']
      const r = conv2d(transpose(xg, [1, 0, 2, 3]), transpose(dyg, [1, 0, 2, 3]), null, { padding: a.padding, stride: a.dilation, dilation: a.stride });
      parts.push(transpose(slice(r, [0, 0, 0, 0], [Cg, Og, KH, KW]), [1, 0, 2, 3]));
    }
    void C;
    return parts.length === 1 ? parts[0]! : concat(parts, 0);
  });
}

function normBackward(dy: Tensor, xhat: Tensor, rstd: Tensor, axes: number[]): Tensor {
  // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), means over the normalised axes
  return E.mul(rstd, E.sub(E.sub(dy, mean(dy, axes, true)), E.mul(xhat, mean(E.mul(dy, xhat), axes, true))));
}

export const VJPS: VjpTable = {
  unary: (dy, inputs, { fn }, out) => {
    const rule = unaryGrad[fn];
    if (!rule) return [tidy(() => E.mul(dy, 0))];
    return [tidy(() => E.mul(dy, rule(x0(inputs), out)))];
  },
  binary: (dy, [a, b], { fn }, out) => {
    const A = a!;
    const B = b!;
    const pair = (ga: Tensor | null, gb: Tensor | null): (Tensor | null)[] => [ga && unbroadcast(ga, A.shape), gb && unbroadcast(gb, B.shape)];
    return tidy(() => {
      switch (fn) {
        case 'add': return pair(dy, dy);
        case 'sub': return pair(dy, E.neg(dy));
        case 'mul': return pair(E.mul(dy, B), E.mul(dy, A));
        case 'div': return pair(E.div(dy, B), E.neg(E.div(E.mul(dy, out), B)));
        case 'pow': return pair(E.mul(dy, E.mul(B, E.pow(A, E.sub(B, 1)))), E.mul(dy, E.mul(out, E.log(A))));
        case 'maximum': return pair(E.mul(dy, E.greaterEqual(A, B)), E.mul(dy, E.less(A, B)));
        case 'minimum': return pair(E.mul(dy, E.lessEqual(A, B)), E.mul(dy, E.greater(A, B)));
        default: return [null, null];
      }
    });
  },
  where: (dy, [c, a, b]) => tidy(() => [null, unbroadcast(E.where(c!, dy, 0), a!.shape), unbroadcast(E.where(c!, 0, dy), b!.shape)]),
  reduce: (dy, [x], { fn, axes }, out) =>
    tidy(() => {
      const X = x!;
      const n = axes.reduce((p, a) => p * X.shape[a]!, 1);
      const full = E.add(zeros(X.shape), dy);
      if (fn === 'sum') return [full];
      if (fn === 'mean') return [E.div(full, n)];
      return [E.mul(full, E.equal(X, out))];
    }),
  cumsum: (dy, _, { axis, exclusive, reverse }) => [cumsum(dy, axis, { exclusive, reverse: !reverse })],
  softmax: (dy, _, __, out) => [tidy(() => E.mul(out, E.sub(dy, sum(E.mul(dy, out), -1, true))))],
  matmul: (dy, [a, b], { transposeA: tA, transposeB: tB }) =>
    tidy(() => {
      const A = a!;
      const B = b!;
      const ga = !tA ? matmul(dy, B, false, !tB) : tB ? matmul(B, dy, true, true) : matmul(B, dy, false, true);
      const gb = !tB ? matmul(A, dy, !tA, false) : tA ? matmul(dy, A, true, true) : matmul(dy, A, true, false);
      return [unbroadcast(ga, A.shape), unbroadcast(gb, B.shape)];
    }),
  conv2d: (dy, [x, w, b], attrs) => [conv2dInputGrad(dy, x!, w!, attrs), conv2dWeightGrad(dy, x!, w!, attrs), b ? sum(dy, [0, 2, 3]) : null],
  groupNorm: (dy, [x, w, b], { groups, eps }) =>
    tidy(() => {
      const X = x!;
      const [N, C] = X.shape as [number, number];
      const chShape = [1, C, ...X.shape.slice(2).map(() => 1)];
      const xg = reshape(X, [N, groups, -1]);
      const mu = mean(xg, 2, true);
      const xc = E.sub(xg, mu);
      const rstd = E.rsqrt(E.add(mean(E.mul(xc, xc), 2, true), eps));
      const xhat = E.mul(xc, rstd);
      const dxhat = w ? E.mul(dy, reshape(w, chShape)) : dy;
      const dx = reshape(normBackward(reshape(dxhat, [N, groups, -1]), xhat, rstd, [2]), X.shape);
      const xhatFull = reshape(xhat, X.shape);
      const redAxes = [0, ...X.shape.slice(2).map((_, i) => i + 2)];
      return [dx, w ? sum(E.mul(dy, xhatFull), redAxes) : null, b ? sum(dy, redAxes) : null];
    }),
  layerNorm: (dy, [x, w, b], { eps }) =>
    tidy(() => {
      const X = x!;
      const lead = X.shape.slice(0, -1).map((_, i) => i);
      const mu = mean(X, -1, true);
      const xc = E.sub(X, mu);
      const rstd = E.rsqrt(E.add(mean(E.mul(xc, xc), -1, true), eps));
      const xhat = E.mul(xc, rstd);
      const dxhat = w ? E.mul(dy, w) : dy;
      return [normBackward(dxhat, xhat, rstd, [X.rank - 1]), w ? sum(E.mul(dy, xhat), lead) : null, b ? sum(dy, lead) : null];
    }),
  rmsNorm: (dy, [x, w], { eps, unitOffset }) =>
    tidy(() => {
      const X = x!;
      const lead = X.shape.slice(0, -1).map((_, i) => i);
      const r = E.rsqrt(E.add(mean(E.mul(X, X), -1, true), eps));
      const scale = w ? (unitOffset ? E.add(w, 1) : w) : null;
      const dxhat = scale ? E.mul(dy, scale) : dy;
      const dx = E.mul(r, E.sub(dxhat, E.mul(E.mul(X, E.mul(r, r)), mean(E.mul(dxhat, X), -1, true))));
      return [dx, w ? sum(E.mul(dy, E.mul(X, r)), lead) : null];
    }),
  attention: (dy, [q, k, v, mask], { scale, causal }) =>
    tidy(() => {
      const Q = q!, K = k!, V = v!;
      let s = E.mul(matmul(Q, K, false, true), scale);
      if (mask) s = E.add(s, mask);
      if (causal) {
        const sq = Q.shape[2]!, sk = K.shape[2]!;
        const qi = reshape(arange(sk - sq, sk), [sq, 1]);
        const kj = reshape(arange(0, sk), [1, sk]);
        s = E.where(E.greater(kj, qi), -Infinity, s);
      }
      const p = softmax(s, -1);
      const dv = matmul(p, dy, true, false);
      const dp = matmul(dy, V, false, true);
      const ds = E.mul(p, E.sub(dp, sum(E.mul(dp, p), -1, true)));
      return [E.mul(matmul(ds, K), scale), E.mul(matmul(ds, Q, true, false), scale), dv, null];
    }),
  upsampleNearest: (dy, [x]) =>
    tidy(() => {
      const X = x!;
      const [h, w] = [X.shape[X.rank - 2]!, X.shape[X.rank - 1]!];
      const mh = nearestSelect(h, dy.shape[dy.rank - 2]!);
      const mw = nearestSelect(w, dy.shape[dy.rank - 1]!);
      return [matmul(matmul(mh, dy), mw, false, true)];
    }),
  pad: (dy, [x], { pads, mode }) => {
    if (mode !== 'constant') throw new SdxsError('UNSUPPORTED', `no gradient for '${mode}' padding; pad with mode 'constant' inside differentiated code`);
    return [slice(dy, pads.map((p) => p[0]), x!.shape)];
  },
  concat: (dy, inputs, { axis }) => {
    let off = 0;
    return inputs.map((t) => {
      const begin = dy.shape.map(() => 0);
      begin[axis] = off;
      off += t!.shape[axis]!;
      return slice(dy, begin, t!.shape);
    });
  },
  slice: (dy, [x], { begin, size }) => [pad(dy, x!.shape.map((d, i) => [begin[i]!, d - begin[i]! - size[i]!] as [number, number]))],
  gather: (dy, [x, idx], { axis }) =>
    tidy(() => {
      // dx = onehotᵀ · dy along the gathered axis
      const X = x!;
      const n = X.shape[axis]!;
      const ids = reshape(idx!, [-1]);
      const onehot = cast(E.equal(reshape(ids, [-1, 1]), reshape(arange(0, n, 1, 'int32'), [1, n])), 'float32');
      const inner = X.shape.slice(axis + 1).reduce((p, c) => p * c, 1);
      const outer = X.shape.slice(0, axis).reduce((p, c) => p * c, 1);
      const d = reshape(dy, [outer, ids.size, inner]);
      const dx = matmul(onehot, d, true, false);
      return [reshape(dx, X.shape), null];
    }),
  transpose: (dy, _, { perm }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(dy, inv)];
  },
  reshape: (dy, [x]) => [reshape(dy, x!.shape)],
  cast: (dy, [x]) => (x!.dtype === 'float32' ? [reshape(dy, x!.shape)] : [null]),
};
