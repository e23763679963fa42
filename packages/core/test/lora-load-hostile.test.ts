import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '../src/index.js';
import { lcgValues } from '@sdxs/core/testing';

/** A Linear and a 3x3 Conv2d: the two layer kinds that carry adapters. */
class Net extends C.Module {
  readonly lin = new C.nn.Linear(6, 5);
  readonly conv = new C.nn.Conv2d(3, 4, 3, { padding: 1 });
  constructor() {
    super();
    for (const [i, [, p]] of this.namedParameters().entries()) p.set(C.fromData(lcgValues(p.shape.reduce((a, b) => a * b, 1), 7 + i, 0.5), p.shape, 'float32'));
  }
}

const RANK = 2;
let dir: string;
let n = 0;
const fileName = (): string => path.join(dir, `l${n++}.safetensors`);

/** A PEFT-style LoRA for `lin` (down [2, 6], up [5, 2]); `edit` changes tensors before writing. */
async function writeLora(edit: (t: C.SafetensorsTensorMap) => void = () => {}, metadata?: Record<string, string>): Promise<string> {
  const t: C.SafetensorsTensorMap = {
    'lin.lora_A.weight': { dtype: 'F32', shape: [RANK, 6], data: lcgValues(RANK * 6, 1, 0.3) },
    'lin.lora_B.weight': { dtype: 'F32', shape: [5, RANK], data: lcgValues(5 * RANK, 2, 0.3) },
  };
  edit(t);
  const f = fileName();
  await C.saveSafetensors(f, t, metadata);
  return f;
}

async function refused(net: Net, file: string): Promise<Error> {
  const e = await C.nn.loadLora(net, file).then(() => null, (x: unknown) => x as Error);
  expect(e, `${file} was accepted`).toBeInstanceOf(C.CheckpointError);
  expect(e!.message).toContain(file);
  expect(C.nn.loraAdapterNames(net)).toEqual([]); // nothing attached
  return e!;
}

describe('LoRA files with unusable values are refused with a CheckpointError naming file and tensor', () => {
  beforeAll(async () => {
    await C.setBackend('cpu');
    dir = mkdtempSync(path.join(tmpdir(), 'sdxs-lora-hostile-'));
  });

  test('a NaN or ±Inf in an adapter tensor is refused, in F32, F16, BF16 and F8 storage alike', async () => {
    const net = new Net();
    const cases: [string, C.SafetensorsTensorMap[string]][] = [
      ['lin.lora_A.weight', { dtype: 'F32', shape: [RANK, 6], data: Float32Array.from(lcgValues(12, 1, 0.3), (v, i) => (i === 5 ? Number.NaN : v)) }],
      ['lin.lora_B.weight', { dtype: 'F32', shape: [5, RANK], data: Float32Array.from(lcgValues(10, 2, 0.3), (v, i) => (i === 9 ? -Infinity : v)) }],
      ['lin.lora_B.weight', { dtype: 'F16', shape: [5, RANK], data: Uint16Array.from({ length: 10 }, (_, i) => (i === 3 ? 0x7c00 : 0x3800)) }],
      ['lin.lora_A.weight', { dtype: 'BF16', shape: [RANK, 6], data: Uint16Array.from({ length: 12 }, (_, i) => (i === 0 ? 0x7fc0 : 0x3f00)) }],
      ['lin.lora_A.weight', { dtype: 'F8_E5M2', shape: [RANK, 6], data: Uint8Array.from({ length: 12 }, (_, i) => (i === 11 ? 0x7c : 0x30)) }],
      ['lin.lora_B.weight', { dtype: 'F8_E4M3', shape: [5, RANK], data: Uint8Array.from({ length: 10 }, (_, i) => (i === 2 ? 0x7f : 0x30)) }],
      ['lin.lora_A.weight', { dtype: 'F64', shape: [RANK, 6], data: Float64Array.from({ length: 12 }, (_, i) => (i === 1 ? 1e300 : 0.1)) }], // beyond float32
    ];
    for (const [key, t] of cases) {
      const f = await writeLora((m) => void (m[key] = t));
      const e = await refused(net, f);
      expect(e.message).toContain(`[${key}]`);
      expect(e.message).toMatch(/not finite/);
    }
  });

  test('an alpha tensor that is NaN, ±Inf or gives a huge scale is refused, naming the alpha tensor', async () => {
    const net = new Net();
    for (const a of [Number.NaN, Infinity, -Infinity, 1e30, -5e5]) {
      const f = await writeLora((m) => void (m['lin.alpha'] = { dtype: 'F32', shape: [], data: Float32Array.of(a) }));
      const e = await refused(net, f);
      expect(e.message).toContain('[lin.alpha]');
    }
    // an integer alpha (some tools write I64) is a number like any other; a bool one is refused
    const int = await writeLora((m) => void (m['lin.alpha'] = { dtype: 'I64', shape: [], data: BigInt64Array.of(4n) }));
    const withInt = new Net();
    await C.nn.loadLora(withInt, int);
    expect(withInt.lin.lora.adapters.get('default_0')!.scale).toBe(4 / RANK);
    const bool = await writeLora((m) => void (m['lin.alpha'] = { dtype: 'BOOL', shape: [], data: Uint8Array.of(1) }));
    expect((await refused(net, bool)).message).toMatch(/\[lin\.alpha\]: the tensor is BOOL/);
    const huge = await writeLora((m) => void (m['lin.alpha'] = { dtype: 'I64', shape: [], data: BigInt64Array.of(10n ** 18n) }));
    expect((await refused(net, huge)).message).toContain('[lin.alpha]');
    // a sane alpha still loads: scale alpha / rank
    const ok = await writeLora((m) => void (m['lin.alpha'] = { dtype: 'F32', shape: [], data: Float32Array.of(8) }));
    await C.nn.loadLora(net, ok);
    expect(net.lin.lora.adapters.get('default_0')!.scale).toBe(8 / RANK);
  });

  test('lora_alpha in the config that is a string, 1e400 (Infinity) or huge is refused, not read as scale 1', async () => {
    for (const json of ['{"lora_alpha": "8"}', '{"lora_alpha": 1e400}', '{"unet.lora_alpha": -1e400}', '{"lora_alpha": 4, "alpha_pattern": {"lin": "2"}}', '{"lora_alpha": 1e9}', '{"lora_alpha": 4, "use_rslora": "yes"}']) {
      const net = new Net();
      const f = await writeLora(undefined, { lora_adapter_metadata: json });
      const e = await C.nn.loadLora(net, f).then(() => null, (x: unknown) => x as Error);
      expect(e, json).toBeInstanceOf(C.CheckpointError);
      expect(e!.message).toContain(f);
      expect(e!.message).toMatch(/lora_alpha|alpha_pattern|use_rslora|scale/);
      expect(C.nn.loraAdapterNames(net)).toEqual([]);
    }
    // the same in a folder's adapter_config.json (with a BOM, which config readers accept): the error names that file
    const folder = path.join(dir, 'peft');
    await mkdir(folder, { recursive: true });
    await C.saveSafetensors(path.join(folder, 'adapter_model.safetensors'), {
      'lin.lora_A.weight': { dtype: 'F32', shape: [RANK, 6], data: lcgValues(12, 1, 0.3) },
      'lin.lora_B.weight': { dtype: 'F32', shape: [5, RANK], data: lcgValues(10, 2, 0.3) },
    });
    writeFileSync(path.join(folder, 'adapter_config.json'), '\ufeff{"r": 2, "lora_alpha": "16"}');
    await expect(C.nn.openLora(folder)).rejects.toThrow(/adapter_config\.json: 'lora_alpha' must be a finite number, got "16"/);
    writeFileSync(path.join(folder, 'adapter_config.json'), '\ufeff{"r": 2, "lora_alpha": 6}');
    const net = new Net();
    await C.nn.loadLora(net, folder);
    expect(net.lin.lora.adapters.get('default_0')!.scale).toBe(6 / RANK);
  });

  test('rank 0 is a CheckpointError naming the file and the module (no reshape error)', async () => {
    const net = new Net();
    const f = await writeLora((m) => {
      m['lin.lora_A.weight'] = { dtype: 'F32', shape: [0, 6], data: new Float32Array(0) };
      m['lin.lora_B.weight'] = { dtype: 'F32', shape: [5, 0], data: new Float32Array(0) };
    });
    const e = await refused(net, f);
    expect(e.message).toMatch(/lin: .*rank 0/);
    // a conv adapter of rank 0 too
    const g = fileName();
    await C.saveSafetensors(g, {
      'lora_unet_conv.lora_down.weight': { dtype: 'F32', shape: [0, 3, 3, 3], data: new Float32Array(0) },
      'lora_unet_conv.lora_up.weight': { dtype: 'F32', shape: [4, 0, 1, 1], data: new Float32Array(0) },
    });
    expect((await refused(net, g)).message).toMatch(/conv: .*rank 0/);
  });

  test('a LoRA file with zero tensors is refused instead of changing nothing', async () => {
    const f = fileName();
    await C.saveSafetensors(f, {});
    expect((await refused(new Net(), f)).message).toMatch(/no tensors/);
  });

  test('integer adapter tensors are refused; float8 adapter values act as their decoded float32 values', async () => {
    const net = new Net();
    const f = await writeLora((m) => void (m['lin.lora_A.weight'] = { dtype: 'I32', shape: [RANK, 6], data: new Int32Array(12).fill(1) }));
    expect((await refused(net, f)).message).toMatch(/\[lin\.lora_A\.weight\].*integer/);

    const down8 = Uint8Array.from({ length: 12 }, (_, i) => [0x30, 0x28, 0xb0, 0x01, 0x3c, 0xa4][i % 6]!);
    const up8 = Uint8Array.from({ length: 10 }, (_, i) => [0x38, 0xb8, 0x30, 0x04, 0x2c][i % 5]!);
    const g8 = await writeLora((m) => {
      m['lin.lora_A.weight'] = { dtype: 'F8_E4M3', shape: [RANK, 6], data: down8 };
      m['lin.lora_B.weight'] = { dtype: 'F8_E5M2', shape: [5, RANK], data: up8 };
    });
    const g32 = await writeLora((m) => {
      m['lin.lora_A.weight'] = { dtype: 'F32', shape: [RANK, 6], data: C.f8ToF32(down8, 'F8_E4M3') };
      m['lin.lora_B.weight'] = { dtype: 'F32', shape: [5, RANK], data: C.f8ToF32(up8, 'F8_E5M2') };
    });
    const a = new Net();
    const b = new Net();
    await C.nn.loadLora(a, g8);
    await C.nn.loadLora(b, g32);
    const x = C.fromData(lcgValues(3 * 6, 5, 1), [3, 6], 'float32');
    const ya = (await a.lin.forward(x).data()) as Float32Array;
    const yb = (await b.lin.forward(x).data()) as Float32Array;
    expect([...ya]).toEqual([...yb]);
    const base = (await new Net().lin.forward(x).data()) as Float32Array;
    expect([...ya]).not.toEqual([...base]); // the adapter does act
  });

  test('a non-finite adapter weight (loadLora weight, setAdapters) is an InputError', async () => {
    const net = new Net();
    const f = await writeLora();
    await expect(C.nn.loadLora(net, f, { weight: Number.NaN })).rejects.toThrow(C.InputError);
    await C.nn.loadLora(net, f);
    expect(() => C.nn.setLoraAdapters(net, 'default_0', Infinity)).toThrow(/finite/);
  });
});
