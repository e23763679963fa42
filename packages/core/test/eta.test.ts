import { describe, expect, test } from 'vitest';
import { RateClock } from '@sdxs/core';

describe('RateClock (the ETA of the CLI, the upscaler and the page)', () => {
  test('the rate is measured from the first sample, not from zero; none before minSpanMs or without progress', () => {
    const c = new RateClock(250);
    // 3 units were done before the clock's first sample (a resumed download): they do not count
    expect(c.sample(3, 13, 1000)).toEqual({ perMs: undefined, leftMs: undefined });
    expect(c.sample(4, 13, 1100)).toEqual({ perMs: undefined, leftMs: undefined }); // 100 ms < 250 ms
    expect(c.sample(3, 13, 1500).perMs).toBeUndefined(); // no progress since the first sample
    const r = c.sample(5, 13, 2000); // 2 units in 1000 ms, 8 left
    expect(r.perMs).toBe(2 / 1000);
    expect(r.leftMs).toBe((8 * 1000) / 2);
  });

  test('an unknown total gives a rate and no time left; past the total, no time left', () => {
    const c = new RateClock(0);
    c.start(0);
    expect(c.sample(4, 0, 2000)).toEqual({ perMs: 4 / 2000, leftMs: undefined });
    expect(c.sample(12, 10, 3000).leftMs).toBe(0);
  });

  test('a count that goes back, or reset(), starts the clock again', () => {
    const c = new RateClock(0);
    c.sample(5, 10, 0);
    expect(c.sample(6, 10, 100).perMs).toBe(1 / 100);
    expect(c.sample(2, 10, 200).perMs).toBeUndefined();
    expect(c.sample(4, 10, 400).perMs).toBe(2 / 200);
    c.reset();
    expect(c.sample(5, 10, 500).perMs).toBeUndefined();
  });
});
