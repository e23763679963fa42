/**
 * A small PNG encoder (8-bit RGB/RGBA) with UTF-8 iTXt chunks, so generated images carry their
 * generation parameters. Compression through node:zlib in Node/Bun or CompressionStream in browsers.
 */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, crc = 0xffffffff): number {
  let c = crc;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, (crc32(out.subarray(4, 8 + data.length)) ^ 0xffffffff) >>> 0);
  return out;
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const zlib = await import('node:zlib');
    return new Uint8Array(zlib.deflateSync(data, { level: 6 }));
  }
  const cs = new CompressionStream('deflate');
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(cs);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export interface PngImage {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA) */
  channels: 3 | 4;
  /** interleaved 8-bit pixels, row-major */
  data: Uint8Array;
}

/** Encode 8-bit pixels as PNG; `text` becomes tEXt chunks (Latin-1 keys, values UTF-8 escaped to Latin-1 safe). */
export async function encodePng(img: PngImage, text: Record<string, string> = {}): Promise<Uint8Array> {
  const { width, height, channels, data: pixels } = img;
  if (pixels.length !== width * height * channels) throw new RangeError(`encodePng: ${pixels.length} bytes for ${width}x${height}x${channels}`);
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  const parts: Uint8Array[] = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk('IHDR', ihdr)];
  for (const [k, v] of Object.entries(text)) {
    const enc = new TextEncoder();
    // iTXt keeps UTF-8 values (prompts in any script): keyword\0 compression-flag(0) method(0) lang\0 translated\0 text
    const key = enc.encode(k.slice(0, 79));
    const val = enc.encode(v);
    const data = new Uint8Array(key.length + 5 + val.length);
    data.set(key, 0);
    data.set(val, key.length + 5);
    parts.push(chunk('iTXt', data));
  }
  parts.push(chunk('IDAT', await deflate(raw)), chunk('IEND', new Uint8Array(0)));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Read the text chunks (tEXt and uncompressed iTXt) of a PNG. */
export function readPngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const dec = new TextDecoder();
  let off = 8;
  while (off + 8 <= png.length) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'tEXt' || type === 'iTXt') {
      const z = data.indexOf(0);
      const key = dec.decode(data.subarray(0, z));
      if (type === 'tEXt') out[key] = dec.decode(data.subarray(z + 1));
      else if (data[z + 1] === 0) {
        let p = z + 3;
        p = data.indexOf(0, p) + 1;
        p = data.indexOf(0, p) + 1;
        out[key] = dec.decode(data.subarray(p));
      }
    }
    off += 12 + len;
  }
  return out;
}
