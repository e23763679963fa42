import type { TfContext, TfKernels } from './types.js';

type MovementKernels = Pick<TfKernels, 'pad' | 'concat' | 'slice' | 'gather' | 'transpose' | 'reshape'>;

export function movementKernels({ tf }: TfContext): MovementKernels {
  return {
    pad: ([x], { pads, mode, value }) =>
      mode === 'reflect' ? tf.mirrorPad(x!.handle, pads, 'reflect') : tf.pad(x!.handle, pads, value),
    concat: (xs, { axis }) => {
      const parts = xs.filter((t) => t !== null && t.shape[axis] !== 0).map((t) => t!.handle);
      return parts.length === 1 ? tf.clone(parts[0]!) : tf.concat(parts, axis);
    },
    slice: ([x], { begin, size }) => tf.slice(x!.handle, begin, size),
    gather: ([x, idx], { axis }) => tf.gather(x!.handle, idx!.handle, axis),
    transpose: ([x], { perm }) => tf.transpose(x!.handle, perm),
    // same dtype: a new tf.Tensor sharing the data (no copy); otherwise the wrapper casts
    reshape: ([x], _, out) => tf.reshape(x!.handle, [...out.shape]),
  };
}
