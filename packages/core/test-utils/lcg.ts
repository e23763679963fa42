/**
 * Small deterministic values in [-amp, amp) from a linear congruential generator, independent of the
 * library's RNG: test data that does not move when the library's random streams change.
 */
export function lcgValues(n: number, seed: number, amp: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * amp;
  }
  return out;
}
