import { describe, expect, test } from 'vitest';
import { BACKEND_ORDER, autoOrder, isSoftwareAdapter, WEBGPU_BACKENDS } from '../src/auto-order.js';

describe("the page's auto order", () => {
  test('a real adapter keeps the WebGPU backends first', () => {
    expect(autoOrder(false)).toEqual([...BACKEND_ORDER]);
    expect(autoOrder(false)[0]).toBe('ort-webgpu');
  });
  test('a software adapter puts every WebGPU backend after every other one', () => {
    const order = autoOrder(true);
    expect([...order].sort()).toEqual([...BACKEND_ORDER].sort());
    const firstGpu = Math.min(...WEBGPU_BACKENDS.map((b) => order.indexOf(b)));
    const lastOther = Math.max(...order.filter((b) => !WEBGPU_BACKENDS.includes(b)).map((b) => order.indexOf(b)));
    expect(firstGpu).toBeGreaterThan(lastOther);
    expect(order[0]).toBe('ort-cpu');
  });
  test('software adapters are told apart from GPUs by their info', () => {
    expect(isSoftwareAdapter({ info: { vendor: 'google', architecture: 'swiftshader' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'microsoft', description: 'Microsoft Basic Render Driver' } })).toBe(true);
    expect(isSoftwareAdapter({ isFallbackAdapter: true, info: { vendor: 'x' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'ampere' } })).toBe(false);
    expect(isSoftwareAdapter({ info: { vendor: 'apple', architecture: 'metal-3' } })).toBe(false);
  });
});
