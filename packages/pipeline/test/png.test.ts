import sharp from 'sharp';
import { expect, test } from 'vitest';
import { encodePng, readPngText } from '../src/png.js';

test('encodePng writes a PNG that libvips decodes to the same pixels, with UTF-8 text chunks', async () => {
  const width = 7;
  const height = 5;
  const pixels = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
  const png = await encodePng({ width, height, channels: 3, data: pixels }, { prompt: 'кот в шляпе, 猫', seed: '42' });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([width, height, 3]);
  expect(Array.from(data)).toEqual(Array.from(pixels));
  expect(readPngText(png)).toEqual({ prompt: 'кот в шляпе, 猫', seed: '42' });
});

test('encodePng refuses a pixel buffer of the wrong size', async () => {
  await expect(encodePng({ width: 2, height: 2, channels: 4, data: new Uint8Array(15) })).rejects.toThrow(RangeError);
});
