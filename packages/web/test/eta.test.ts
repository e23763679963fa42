import { describe, expect, test } from 'vitest';
import { Countdown, StageClock, formatMs } from '../src/eta.js';
import { phrases } from '../src/dom.js';
import { slug } from '../src/gallery.js';

describe('progress ETA and names', () => {
  test('the ETA comes from the rate measured within a stage and restarts with the next stage', () => {
    const c = new StageClock();
    expect(c.remaining('denoise', 0, 10, 0)).toBeUndefined();
    expect(c.remaining('denoise', 1, 10, 100)).toBeUndefined(); // under 200 ms: no rate yet
    expect(c.remaining('denoise', 2, 10, 1000)).toBe(4000); // 2 steps per second, 8 left
    expect(c.remaining('decode', 0, 1, 1100)).toBeUndefined();
    expect(c.remaining('decode', 1, 1, 2000)).toBe(0);
  });
  test('the time left counts down between reports (within a tile) and restarts from each new report', () => {
    const c = new Countdown();
    expect(c.remaining(0)).toBeUndefined();
    c.set(60_000, 1000);
    expect(c.remaining(1000)).toBe(60_000);
    expect(c.remaining(11_000)).toBe(50_000); // ten seconds later, no report in between
    expect(c.remaining(100_000)).toBe(0); // never below zero
    c.set(30_000, 20_000);
    expect(c.remaining(25_000)).toBe(25_000);
    c.set(undefined, 26_000);
    expect(c.remaining(27_000)).toBeUndefined();
  });
  test('status text splits into phrases at its separators, losing no character', () => {
    const text = 'ONNX Runtime Web, wasm execution provider (CPU) · google swiftshader';
    expect(phrases(text)).toEqual(['ONNX Runtime Web', ', ', 'wasm execution provider (CPU)', ' · ', 'google swiftshader']);
    expect(phrases(text).join('')).toBe(text);
  });
  test('durations read naturally', () => {
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(4200)).toBe('4.2 s');
    // never '60.0 s': just under a minute reads as one minute
    expect(formatMs(59_999)).toBe('1 min 0 s');
    expect(formatMs(59_940)).toBe('59.9 s');
    expect(formatMs(185_000)).toBe('3 min 5 s');
    expect(formatMs(3_720_000)).toBe('1 h 2 min');
    expect(formatMs(NaN)).toBe('–');
  });
  test('download names from prompts', () => {
    expect(slug('A red fox in the snow, photo!')).toBe('a-red-fox-in-the-snow-photo');
    expect(slug('   ')).toBe('image');
    expect(slug('x'.repeat(80)).length).toBe(40);
  });
});
