import sharp from 'sharp';

/** A small JPEG whose frame header is rewritten to claim `width`x`height` (a decompression bomb: the scan data stops far short). */
export async function jpegBomb(width: number, height: number): Promise<Buffer> {
  const b = Buffer.from(await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c04020' } }).jpeg().toBuffer());
  for (let i = 2; i + 9 < b.length; i++) {
    if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
      b.writeUInt16BE(height, i + 5);
      b.writeUInt16BE(width, i + 7);
      return b;
    }
  }
  throw new Error('no SOF marker');
}
