import type { KernelInput, OpAttrs } from '../../backend.js';
import type { Rank4, T, TfContext } from './types.js';

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/**
 * NCHW conv2d on tfjs (which is NHWC): transpose the input in and the output back; the weight's
 * OIHW → HWIO (or depthwise [kH, kW, C, mult]) transpose is cached per weight handle.
 */
export function conv2dTf(ctx: TfContext, x: KernelInput<T>, w: KernelInput<T>, bias: KernelInput<T> | null, a: OpAttrs['conv2d']): T {
  const { tf } = ctx;
  const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
  const C = x.shape[1]!;
  const g = a.groups;
  const [pt, pb, pl, pr] = a.padding;
  const pad: ExplicitPadding = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
  // tfjs refuses stride > 1 together with dilation > 1: run stride 1 and subsample
  const both = (a.stride[0] > 1 || a.stride[1] > 1) && (a.dilation[0] > 1 || a.dilation[1] > 1);
  const strides: [number, number] = both ? [1, 1] : a.stride;
  const xh = tf.transpose(x.handle, [0, 2, 3, 1]) as Rank4;
  let y: Rank4;
  if (g === 1) {
    const wt = ctx.derived(w.handle, 'hwio', () => tf.transpose(w.handle, [2, 3, 1, 0])) as Rank4;
    y = tf.conv2d(xh, wt, strides, pad, 'NHWC', a.dilation);
  } else if (g === C && Cg === 1) {
    const mult = O / C;
    const wt = ctx.derived(w.handle, 'depthwise', () => tf.transpose(tf.reshape(w.handle, [C, mult, KH, KW]), [2, 3, 0, 1])) as Rank4;
    y = tf.depthwiseConv2d(xh, wt, strides, pad, 'NHWC', a.dilation);
  } else {
    const wt = ctx.derived(w.handle, 'hwio', () => tf.transpose(w.handle, [2, 3, 1, 0])) as Rank4;
    const xs = tf.split(xh, g, 3) as Rank4[];
    const ws = tf.split(wt, g, 3) as Rank4[];
    y = tf.concat(xs.map((xg, i) => tf.conv2d(xg, ws[i]!, strides, pad, 'NHWC', a.dilation)), 3);
  }
  if (both) {
    const [n, h, wd, c] = y.shape;
    y = tf.stridedSlice(y, [0, 0, 0, 0], [n, h, wd, c], [1, a.stride[0], a.stride[1], 1]) as Rank4;
  }
  if (bias) y = tf.add(y, bias.handle);
  return tf.transpose(y, [0, 3, 1, 2]);
}
