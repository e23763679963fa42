/**
 * A pool of node:worker_threads that read, hash, probe and resize images with sharp off the main
 * thread. The worker body is plain JavaScript evaluated from a string (so it runs the same from the
 * TypeScript sources, the built package and Bun); it loads sharp from the path resolved here.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { inspectImageFile, STRICT_DECODE_TRIES, TRUNCATED_DATA, UNEXPLAINED_FAILURE } from '@sdxs/vae/node';

export interface ProbeResult {
  hash: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  /** Frames or pages in the file (1 for still images). */
  pages: number;
}

export interface ResizeResult {
  /** RGB bytes, HWC, one per requested size. */
  images: Uint8Array[];
}

type Request = { op: 'probe'; path: string } | { op: 'resize'; path: string; sizes: [number, number][] };

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { readFile } = require('node:fs/promises');
const sharp = require(workerData.sharpPath);
const maxPixels = workerData.maxPixels;
// @sdxs/vae's decodeStrictly, on this thread (its patterns come in workerData): fail on warnings first; one that
// says the data stops short is an error (a truncated or mostly-missing file otherwise decodes as a grey picture),
// files with other, harmless warnings are decoded again tolerantly. A strict failure that does not say why (another
// decode took libvips' per-process warning queue) is tried strictly again, never taken as harmless; requests are
// handled one at a time per worker, so a retry usually runs alone.
const TRUNCATED = new RegExp(workerData.truncated, 'i');
const UNEXPLAINED = new RegExp(workerData.unexplained, 'i');
async function strictly(decode) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await decode('warning');
    } catch (e) {
      const message = String((e && e.message) || e);
      if (TRUNCATED.test(message)) throw e;
      if (UNEXPLAINED.test(message)) {
        if (attempt < workerData.tries - 1) continue;
        throw new Error('the decoder stopped on a warning it did not name');
      }
      return decode('error');
    }
  }
}
async function handle(msg) {
  const buf = await readFile(msg.path);
  if (msg.op === 'probe') {
    const hash = createHash('sha256').update(buf).digest('hex');
    const meta = await sharp(buf, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the header');
    // The size from the header is checked before any decoding (a few-KB file can claim gigapixels).
    if (meta.width * meta.height > maxPixels) {
      throw new Error('image header says ' + meta.width + 'x' + meta.height + ' = ' + meta.width * meta.height + ' pixels, over the limit of ' + maxPixels + ' (raise it with SDXS_MAX_IMAGE_PIXELS if the image is genuine)');
    }
    // Decode fully once so truncated or corrupt data is caught here.
    await strictly((failOn) => sharp(buf, { failOn, limitInputPixels: maxPixels }).raw().toBuffer());
    const swap = (meta.orientation || 1) >= 5;
    return { hash, bytes: buf.length, width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height, format: meta.format || '?', pages: meta.pages || 1 };
  }
  const images = [];
  for (const [w, h] of msg.sizes) {
    const { data, info } = await strictly((failOn) => sharp(buf, { failOn, limitInputPixels: maxPixels })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(w, h, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }));
    if (info.channels !== 3 || info.width !== w || info.height !== h) throw new Error('resize gave ' + info.width + 'x' + info.height + 'x' + info.channels);
    images.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
  }
  return { images };
}
// One request at a time: the pool spreads work over workers, and no two decodes of this worker race for
// libvips' warning queue.
let queue = Promise.resolve();
parentPort.on('message', (msg) => {
  queue = queue.then(() => handle(msg)).then(
    (result) => parentPort.postMessage({ id: msg.id, ok: true, result }, result.images ? result.images.map((a) => a.buffer) : []),
    (e) => parentPort.postMessage({ id: msg.id, ok: false, error: String((e && e.message) || e) }),
  );
});
`;

function sharpPath(): string {
  // the CJS build has no import.meta but has __filename; the ESM build the other way round
  const base = typeof __filename === 'string' ? __filename : import.meta.url;
  return createRequire(base).resolve('sharp');
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[] = [];
  private nextId = 1;

  /**
   * `maxPixels`: images whose header claims more pixels are refused before decoding; `maxBytes`: larger
   * files are refused before they are read (default: derived from `maxPixels`).
   */
  constructor(size: number, private readonly maxPixels: number, private readonly maxBytes?: number) {
    const sp = sharpPath();
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { sharpPath: sp, maxPixels, truncated: TRUNCATED_DATA.source, unexplained: UNEXPLAINED_FAILURE.source, tries: STRICT_DECODE_TRIES } });
      w.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.load[i]!--;
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(m.error));
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
      this.load.push(0);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private send<T>(req: Request): Promise<T> {
    let k = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[k]!) k = i;
    const id = this.nextId++;
    this.load[k]!++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.workers[k]!.postMessage({ ...req, id });
    });
  }

  /**
   * Reads the file, hashes it (sha256), reads its oriented size and decodes it once to validate. First,
   * on this thread, without reading more than its first bytes: a regular file (a device or FIFO would
   * be read forever), within the size limit, a known format whose header is within the pixel limit.
   */
  async probe(file: string): Promise<ProbeResult> {
    try {
      await inspectImageFile(file, { maxPixels: this.maxPixels, maxBytes: this.maxBytes });
    } catch (e) {
      // the worker's errors carry no file name (the report names the source): the same here
      throw new Error((e as Error).message.replace(`${file}: `, ''));
    }
    return this.send({ op: 'probe', path: file });
  }

  /** EXIF-oriented, alpha flattened on white, sRGB, centre-cropped and resized to each size. */
  resize(file: string, sizes: [number, number][]): Promise<ResizeResult> {
    return this.send({ op: 'resize', path: file, sizes });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
