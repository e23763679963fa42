/**
 * Aspect-ratio buckets. A bucket is a (width, height) pair whose sides both lie on the grid
 * min, min + step, ..., max (768..1408 step 64 by default). An image goes to the bucket with the nearest
 * aspect ratio (|log(ratio)| distance, so the centre crop is minimal); among buckets whose ratio is as
 * near (within `ratioTolerance`), the one whose area is closest to the image's own area wins (least
 * rescaling), ties broken towards the larger bucket.
 */

export interface BucketConfig {
  /** Smallest side in px (default 768). */
  min?: number;
  /** Largest side in px (default 1408). */
  max?: number;
  /** Grid step in px (default 64). */
  step?: number;
  /** Explicit [width, height] list instead of the grid. */
  sizes?: readonly (readonly [number, number])[];
  /** Log-ratio slack within which buckets count as equally near (default 0.01, about 1% of crop). */
  ratioTolerance?: number;
}

export type Bucket = readonly [width: number, height: number];

export function bucketSizes(cfg: BucketConfig = {}): Bucket[] {
  if (cfg.sizes) return cfg.sizes.map(([w, h]) => [w, h] as const);
  const min = cfg.min ?? 768;
  const max = cfg.max ?? 1408;
  const step = cfg.step ?? 64;
  if (!(min > 0 && max >= min && step > 0) || (max - min) % step !== 0) {
    throw new RangeError(`bucket grid ${min}..${max} step ${step} is invalid (max - min must be a multiple of step)`);
  }
  const sides: number[] = [];
  for (let s = min; s <= max; s += step) sides.push(s);
  const out: Bucket[] = [];
  for (const h of sides) for (const w of sides) out.push([w, h]);
  return out;
}

/** The bucket for an image of the given size (see the module comment for the rule). */
export function nearestBucket(width: number, height: number, buckets: readonly Bucket[], ratioTolerance = 0.01): Bucket {
  if (buckets.length === 0) throw new RangeError('no buckets');
  const r = Math.log(width / height);
  let best = Infinity;
  for (const [w, h] of buckets) best = Math.min(best, Math.abs(Math.log(w / h) - r));
  const area = Math.log(width * height);
  let pick: Bucket | null = null;
  let pickScore = Infinity;
  for (const b of buckets) {
    if (Math.abs(Math.log(b[0] / b[1]) - r) > best + ratioTolerance) continue;
    const score = Math.abs(Math.log(b[0] * b[1]) - area);
    if (score < pickScore - 1e-12 || (Math.abs(score - pickScore) <= 1e-12 && pick && b[0] * b[1] > pick[0] * pick[1])) {
      pick = b;
      pickScore = score;
    }
  }
  return pick!;
}

/**
 * The centre crop (in source pixels) that `fit: cover` takes before scaling to the bucket: the largest
 * rectangle of the bucket's aspect ratio centred in the image.
 */
export function centreCrop(width: number, height: number, bucket: Bucket): { left: number; top: number; width: number; height: number } {
  const scale = Math.max(bucket[0] / width, bucket[1] / height);
  const cw = Math.min(width, Math.round(bucket[0] / scale));
  const ch = Math.min(height, Math.round(bucket[1] / scale));
  return { left: Math.floor((width - cw) / 2), top: Math.floor((height - ch) / 2), width: cw, height: ch };
}

/** Fraction of the image's pixels that the centre crop discards. */
export function cropLoss(width: number, height: number, bucket: Bucket): number {
  const c = centreCrop(width, height, bucket);
  return 1 - (c.width * c.height) / (width * height);
}

export function bucketKey(b: Bucket): string {
  return `${b[0]}x${b[1]}`;
}
