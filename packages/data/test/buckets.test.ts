import { describe, expect, test } from 'vitest';
import { bucketSizes, centreCrop, cropLoss, nearestBucket } from '../src/buckets.js';
import { looksLikeTags, parseCsvLine } from '../src/captions.js';

describe('buckets', () => {
  const grid = bucketSizes();
  test('default grid: 768..1408 step 64 on both sides', () => {
    expect(grid.length).toBe(11 * 11);
    expect(grid.every(([w, h]) => w % 64 === 0 && h % 64 === 0 && w >= 768 && h <= 1408)).toBe(true);
  });
  test('nearest aspect ratio, then the closest area', () => {
    expect(nearestBucket(1024, 1024, grid)).toEqual([1024, 1024]);
    expect(nearestBucket(4000, 3000, grid)).toEqual([1280, 960]); // 1056 is not on the grid
    expect(nearestBucket(800, 600, grid)).toEqual([1024, 768]);
    expect(nearestBucket(500, 500, grid)).toEqual([768, 768]);
    expect(nearestBucket(3000, 1000, grid)).toEqual([1408, 768]);
    expect(nearestBucket(1000, 3000, grid)).toEqual([768, 1408]);
    // ratio 16:9 (1.778): 1344x768 = 1.75 is the nearest on the grid
    expect(nearestBucket(1920, 1080, grid)).toEqual([1344, 768]);
  });
  test('centre crop is the largest centred rectangle of the bucket ratio', () => {
    expect(centreCrop(200, 100, [128, 128])).toEqual({ left: 50, top: 0, width: 100, height: 100 });
    expect(centreCrop(1920, 1080, [1344, 768])).toEqual({ left: 15, top: 0, width: 1890, height: 1080 });
    expect(cropLoss(1920, 1080, [1344, 768])).toBeCloseTo(0.015625, 6);
    expect(cropLoss(4000, 3000, [1280, 960])).toBe(0);
  });
  test('a custom grid and explicit sizes', () => {
    expect(bucketSizes({ min: 64, max: 128, step: 32 }).length).toBe(9);
    expect(bucketSizes({ sizes: [[512, 768]] })).toEqual([[512, 768]]);
    expect(() => bucketSizes({ min: 64, max: 100, step: 32 })).toThrow(/multiple of step/);
  });
});

describe('captions', () => {
  test('tags vs natural text', () => {
    expect(looksLikeTags('1girl, solo, long_hair, smile')).toBe(true);
    expect(looksLikeTags('outdoors, sky, no_humans')).toBe(true);
    expect(looksLikeTags('A cat sitting on a mat, looking at the camera.')).toBe(false);
    expect(looksLikeTags('A photo of a dog')).toBe(false);
    expect(looksLikeTags('long_hair')).toBe(true);
  });
  test('CSV quoting', () => {
    expect(parseCsvLine('a,"b, c","say ""hi"""')).toEqual(['a', 'b, c', 'say "hi"']);
  });
});
