import { describe, expect, test } from 'vitest';
import { DEFAULT_MODEL_URL, absoluteModelUrl, modelUrlFromQuery } from '../src/model-url.js';

describe('the page model URL', () => {
  const page = 'http://localhost:5173/index.html?x=1';
  test('defaults to the hub resolve URL of AiArtLab/sdxs-1b', () => {
    expect(modelUrlFromQuery('', page)).toBe(DEFAULT_MODEL_URL);
    expect(modelUrlFromQuery('?model=%20', page)).toBe(DEFAULT_MODEL_URL);
    expect(DEFAULT_MODEL_URL).toBe('https://huggingface.co/AiArtLab/sdxs-1b/resolve/main');
  });
  test('?model= is used, relative URLs resolve against the page, trailing slashes go', () => {
    expect(modelUrlFromQuery('?model=/model/', page)).toBe('http://localhost:5173/model');
    expect(modelUrlFromQuery('?model=https%3A%2F%2Fexample.com%2Fm%2Fresolve%2Fmain', page)).toBe('https://example.com/m/resolve/main');
    expect(absoluteModelUrl(' models/tiny ', page)).toBe('http://localhost:5173/models/tiny');
  });
});
