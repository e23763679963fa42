import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';

const fixtures = process.env.SDXS_FIXTURES ?? path.resolve(__dirname, '../../../../shared/fixtures');

beforeAll(async () => {
  await C.setBackend('cpu');
});

class Block extends C.Module {
  readonly norm = new C.nn.GroupNorm(2, 4);
  readonly proj = new C.nn.Linear(4, 3);
  readonly to_out = new C.ModuleList<C.nn.Linear>([new C.nn.Linear(3, 4, false), null]);
}

describe('nn.Module', () => {
  test('parameter names are the dotted field names, like a PyTorch state_dict', () => {
    const m = new Block();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['norm.weight', 'norm.bias', 'proj.weight', 'proj.bias', 'to_out.0.weight']);
    expect(m.numParameters()).toBe(4 + 4 + 12 + 3 + 12);
  });

  test('strict loading reports every missing, unexpected and mis-shaped tensor at once', () => {
    const m = new Block();
    const sd = { 'norm.weight': C.ones([4]), 'proj.weight': C.ones([4, 3]), 'extra.weight': C.ones([1]) };
    let err: unknown;
    try {
      m.loadStateDict(sd, { source: 'model.safetensors' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(C.CheckpointError);
    const msg = (err as Error).message;
    expect(msg).toContain('model.safetensors');
    expect(msg).toMatch(/proj\.weight: checkpoint \[4, 3\] vs model \[3, 4\]/);
    expect(msg).toMatch(/missing: .*norm\.bias/);
    expect(msg).toMatch(/unexpected: extra\.weight/);
    C.dispose(Object.values(sd));
  });

  test('loadWeights streams a real fixture checkpoint into matching modules, in 16-bit storage too', async () => {
    const file = await C.loadSafetensors(path.join(fixtures, 'diffusers/vae-tiny/diffusion_pytorch_model.safetensors'));
    const name = file.names().find((n) => n.endsWith('quant_conv.weight') && n.startsWith('quant_conv'))!;
    const info = file.info(name);
    class Q extends C.Module {
      readonly quant_conv = new C.nn.Conv2d(info.shape[1]!, info.shape[0]!, 1);
    }
    const q = new Q();
    const skip = (k: string): boolean => !k.startsWith('quant_conv.');
    const bytes = await C.loadWeights(q, file, { skip });
    expect(bytes).toBe((info.shape[0]! * info.shape[1]! + info.shape[0]!) * 4);
    const ref = (await file.readTyped(name)) as Float32Array;
    expect(Array.from(await q.quant_conv.weight.value.data())).toEqual(Array.from(ref));
    const q16 = new Q();
    const bytes16 = await C.loadWeights(q16, file, { skip, dtype: 'bfloat16' });
    expect(bytes16).toBe(bytes / 2);
    const w = C.tidy(() => C.keep(q16.quant_conv.weight.use()));
    const d = (await w.data()) as Float32Array;
    d.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(Math.abs(ref[i]!) * 2 ** -8));
    C.dispose([w]);
    q.dispose();
    q16.dispose();
    await file.close();
  });

  test('loadWeights refuses a checkpoint that does not fit, naming the file', async () => {
    const file = await C.loadSafetensors(path.join(fixtures, 'diffusers/vae-tiny/diffusion_pytorch_model.safetensors'));
    await expect(C.loadWeights(new Block(), file)).rejects.toThrow(/vae-tiny.*missing: .*norm\.weight/s);
    await file.close();
  });
});

describe("the 'half' weight policy", () => {
  test('keeps 16-bit checkpoint tensors bit-exact in their own dtype, float32 ones as float16 (bfloat16 past its range)', async () => {
    const bits = Uint16Array.from([0x3f80, 0xc000, 0x4049, 0x0001]); // bfloat16 1, -2, 3.140625, a subnormal
    const bytes = C.serializeSafetensors({
      'a.weight': { dtype: 'BF16', shape: [2, 2], data: bits },
      'b.weight': { dtype: 'F32', shape: [2], data: Float32Array.from([0.1, -0.5]) },
      'c.weight': { dtype: 'F32', shape: [2], data: Float32Array.from([0.1, 70000]) },
    });
    const file = await C.loadSafetensors(bytes);
    class Two extends C.Module {
      readonly a = new (class extends C.Module {
        readonly weight = new C.Parameter([2, 2]);
      })();
      readonly b = new (class extends C.Module {
        readonly weight = new C.Parameter([2]);
      })();
      readonly c = new (class extends C.Module {
        readonly weight = new C.Parameter([2]);
      })();
    }
    const m = new Two();
    await C.loadWeights(m, file, { dtype: 'half' });
    expect(m.a.weight.value.dtype).toBe('bfloat16');
    expect(Array.from(await m.a.weight.value.data())).toEqual(Array.from(bits));
    expect(m.b.weight.value.dtype).toBe('float16');
    const b = C.tidy(() => C.keep(m.b.weight.use()));
    const v = await b.data();
    expect(Math.abs(v[0]! - 0.1)).toBeLessThan(1e-4);
    expect(v[1]).toBe(-0.5);
    expect(m.c.weight.value.dtype).toBe('bfloat16');
    const c = C.tidy(() => C.keep(m.c.weight.use()));
    expect(Math.abs((await c.data())[1]! - 70000) / 70000).toBeLessThan(2 ** -8);
    C.dispose([b, c]);
    m.dispose();
  });
});

describe('memory limits of a backend', () => {
  test('loadWeights estimates resident bytes first and refuses what cannot fit, naming dtype float16', async () => {
    const file = await C.loadSafetensors(path.join(fixtures, 'diffusers/vae-tiny/diffusion_pytorch_model.safetensors'));
    const name = file.names().find((n) => n.endsWith('quant_conv.weight') && n.startsWith('quant_conv'))!;
    const info = file.info(name);
    class Q extends C.Module {
      readonly quant_conv = new C.nn.Conv2d(info.shape[1]!, info.shape[0]!, 1);
    }
    const skip = (k: string): boolean => !k.startsWith('quant_conv.');
    const f32Bytes = (info.shape[0]! * info.shape[1]! + info.shape[0]!) * 4;
    const cpu = C.createCpuBackend();
    // A heap that holds the weights in 16 bits but not in 32 (a quarter is kept for activations).
    C.registerBackend('test-small-heap', async () => ({ ...cpu, name: 'test-small-heap', memoryLimitBytes: Math.ceil((f32Bytes * 0.75) / 0.75) - 1 }) as C.Backend, -100);
    await C.setBackend('test-small-heap');
    try {
      const q = new Q();
      const err = await C.loadWeights(q, file, { skip }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(C.MemoryLimitError);
      expect((err as Error).message).toMatch(/test-small-heap.*dtype: 'float16'/);
      expect(() => q.quant_conv.weight.value).toThrow(/no value/); // refused before anything was read
      expect(await C.loadWeights(q, file, { skip, dtype: 'half' })).toBe(f32Bytes / 2);
      q.dispose();
    } finally {
      await C.setBackend('cpu');
      await file.close();
    }
  });
});
