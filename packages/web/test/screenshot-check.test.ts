import { describe, expect, test } from 'vitest';
import { encodePng } from '@sdxs/pipeline';
import { readPng } from './png-read.js';
import { screenshotProblems } from './screenshot-check.js';

/** A 64x48 RGB picture: a dark header band with light "text" dots over a light page with noise. */
function pagePicture(header: [number, number, number]): Uint8Array {
  const [w, h] = [64, 48];
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const inHeader = y < 12;
      const ink = (x * 7 + y * 13) % 11 === 0;
      const base: number[] = inHeader ? header : [244, 245, 250];
      for (let c = 0; c < 3; c++) d[o + c] = ink ? (inHeader ? 255 : 30 + ((x * 5 + c * 40) % 200)) : base[c]! - ((x + y + c) % 9);
    }
  }
  return d;
}

describe('the screenshot check', () => {
  const header = { x: 0, y: 0, width: 64, height: 12 };
  const background = { x: 0, y: 40, width: 64, height: 8 };

  test('readPng decodes what encodePng wrote (all filter types appear in real screenshots; here the encoder picks)', async () => {
    const rgb = pagePicture([40, 30, 120]);
    const img = readPng(await encodePng({ width: 64, height: 48, channels: 3, data: rgb }));
    expect([img.width, img.height]).toEqual([64, 48]);
    for (let i = 0; i < 64 * 48; i++) expect([...img.data.subarray(i * 4, i * 4 + 3)]).toEqual([...rgb.subarray(i * 3, i * 3 + 3)]);
  });

  test('passes a page with a header that stands out, fails a blank page and a header the colour of the page', async () => {
    const ok = readPng(await encodePng({ width: 64, height: 48, channels: 3, data: pagePicture([40, 30, 120]) }));
    expect(screenshotProblems(ok, header, background)).toEqual([]);
    const blank = readPng(await encodePng({ width: 64, height: 48, channels: 3, data: new Uint8Array(64 * 48 * 3).fill(255) }));
    const blankProblems = screenshotProblems(blank, header, background);
    expect(blankProblems.join('\n')).toMatch(/distinct colours/);
    expect(blankProblems.join('\n')).toMatch(/too close to the background/);
    const flat = readPng(await encodePng({ width: 64, height: 48, channels: 3, data: pagePicture([244, 245, 250]) }));
    expect(screenshotProblems(flat, header, background).join('\n')).toMatch(/too close to the background/);
  });
});
