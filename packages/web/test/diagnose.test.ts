import { describe, expect, test } from 'vitest';
import { BackendStartError, PageInputError, explainFailure, needsProbe, probeModelFile, type FailureContext } from '../src/diagnose.js';

const page = 'http://localhost:5173';

function fakeFetch(answer: Response | Error): typeof fetch {
  return (() => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer))) as typeof fetch;
}

describe('probing the model folder', () => {
  test('a network failure is unreachable; 404 not found; an HTML page or non-JSON is flagged; JSON is ok', async () => {
    expect(await probeModelFile('http://x/m/vae/config.json', fakeFetch(new TypeError('Failed to fetch')))).toEqual({ kind: 'unreachable', message: 'Failed to fetch' });
    expect(await probeModelFile('u', fakeFetch(new Response('not found', { status: 404 })))).toEqual({ kind: 'not-found', status: 404 });
    expect(await probeModelFile('u', fakeFetch(new Response('nope', { status: 403 })))).toEqual({ kind: 'forbidden', status: 403 });
    expect(await probeModelFile('u', fakeFetch(new Response('<!doctype html><html>', { status: 200, headers: { 'content-type': 'text/html' } })))).toEqual({ kind: 'html', status: 200 });
    expect(await probeModelFile('u', fakeFetch(new Response('{"a": ', { status: 200 })))).toEqual({ kind: 'not-json', status: 200 });
    expect(await probeModelFile('u', fakeFetch(new Response('oops', { status: 502 })))).toEqual({ kind: 'http-error', status: 502 });
    expect(await probeModelFile('u', fakeFetch(new Response('{"a": 1}', { status: 200, headers: { 'content-type': 'application/json' } })))).toEqual({ kind: 'ok' });
  });
});

describe('explaining failures', () => {
  const local: FailureContext = { modelUrl: `${page}/models/tiny`, file: 'vae/config.json', pageOrigin: page };
  const hub: FailureContext = { modelUrl: 'https://huggingface.co/AiArtLab/sdxs-1b/resolve/main', file: 'model_index.json', pageOrigin: page };

  test('an unreachable hub suggests a local tiny model', () => {
    const x = explainFailure(new Error('request failed: Failed to fetch'), { ...hub, probe: { kind: 'unreachable', message: 'Failed to fetch' } });
    expect(x.kind).toBe('offline');
    expect(x.title).toBe("Can't reach the Hugging Face hub");
    expect(x.advice.join(' ')).toContain('https://huggingface.co/AiArtLab/sdxs-1b/resolve/main/model_index.json');
    expect(x.commands.join(' ')).toContain('npx sdxs make-tiny-model packages/web/public/tiny-model');
    expect(explainFailure(new Error('x'), { ...hub, online: false, probe: { kind: 'unreachable', message: '' } }).advice[0]).toContain('This browser is offline');
  });

  test("a folder the dev server 404s or answers with HTML explains server.fs.allow and public/", () => {
    for (const probe of [{ kind: 'not-found', status: 404 }, { kind: 'html', status: 200 }, { kind: 'forbidden', status: 403 }] as const) {
      const x = explainFailure(new Error('config missing'), { ...local, probe });
      expect(x.kind).toBe('not-served');
      expect(x.title).toBe("The model folder isn't being served");
      const text = x.advice.join(' ');
      expect(text).toContain(`${page}/models/tiny/vae/config.json`);
      expect(text).toContain('server.fs.allow');
      expect(text).toContain('packages/web/public/');
    }
    expect(explainFailure(new Error(''), { ...local, probe: { kind: 'html', status: 200 } }).advice[0]).toContain('HTML page instead of JSON');
    // another origin's 404 is about the URL, not about Vite
    const other = explainFailure(new Error(''), { ...hub, probe: { kind: 'not-found', status: 404 } });
    expect(other.advice.join(' ')).not.toContain('server.fs.allow');
  });

  test('cancellation, input problems, memory and backend start are recognised without probing', () => {
    const abort = new DOMException('cancelled', 'AbortError');
    expect(explainFailure(abort, local).kind).toBe('cancelled');
    expect(needsProbe(abort)).toBe(false);
    const sdxsAbort = Object.assign(new Error('operation aborted'), { code: 'ABORTED' });
    expect(explainFailure(sdxsAbort, local).kind).toBe('cancelled');
    const input = new PageInputError('image of 9000x9000 = 81000000 pixels is over the limit');
    expect(explainFailure(input, local)).toMatchObject({ kind: 'input', advice: [input.message] });
    expect(needsProbe(input)).toBe(false);
    for (const m of ['RangeError: Array buffer allocation failed', 'Aborted(OOM)', 'WebGPU device was lost', 'failed to allocate a buffer of 5 GB']) {
      expect(explainFailure(new Error(m), local).kind).toBe('memory');
      expect(needsProbe(new Error(m))).toBe(false);
    }
    const start = new BackendStartError(['ort-webgpu: no WebGPU adapter']);
    const x = explainFailure(start, local);
    expect(x.kind).toBe('webgpu');
    expect(x.advice[0]).toContain('no WebGPU adapter');
    expect(needsProbe(new Error('HTTP 500'))).toBe(true);
  });

  test('other errors are shown as they are', () => {
    const x = explainFailure(new Error('generate: width must be a positive multiple of 8'), { ...local, probe: { kind: 'ok' } });
    expect(x).toMatchObject({ kind: 'error', advice: ['Error: generate: width must be a positive multiple of 8'] });
  });
});
