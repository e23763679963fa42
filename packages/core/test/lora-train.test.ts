import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '../src/index.js';
import { lcgValues } from '@sdxs/core/testing';

/** A Linear and a 3x3 Conv2d with seeded weights: the two layer kinds that carry adapters. */
class Net extends C.Module {
  readonly lin = new C.nn.Linear(6, 5);
  readonly conv = new C.nn.Conv2d(3, 4, 3, { padding: 1 });
  constructor(seed: number) {
    super();
    for (const [i, [, p]] of this.namedParameters().entries()) p.set(C.fromData(lcgValues(p.shape.reduce((a, b) => a * b, 1), seed + i, 0.5), p.shape, 'float32'));
  }
  forward(x: C.Tensor, img: C.Tensor): C.Tensor[] {
    return [this.lin.forward(x), this.conv.forward(img)];
  }
}

const X = (): C.Tensor => C.fromData(lcgValues(2 * 7 * 6, 91, 1), [2, 7, 6], 'float32');
const IMG = (): C.Tensor => C.fromData(lcgValues(3 * 5 * 5, 92, 1), [1, 3, 5, 5], 'float32');

/** Adapters on both layers with non-zero B (a fresh adapter's B is zero), same values for a given seed. */
function withLora(dropout: number | undefined, seed = 3): { net: Net; params: [string, C.Parameter][] } {
  const net = new Net(1);
  const params = C.nn.addLora(net, { rank: 2, alpha: 3, targets: ['lin', 'conv'], seed, dropout });
  for (const [i, [n, p]] of params.entries()) if (n.endsWith('lora_B.weight')) p.set(C.fromData(lcgValues(p.shape.reduce((a, b) => a * b, 1), 40 + i, 0.4), p.shape, 'float32'));
  return { net, params };
}

async function outputs(net: Net): Promise<Float32Array[]> {
  const x = X();
  const img = IMG();
  const ys = net.forward(x, img);
  const out = await Promise.all(ys.map(async (y) => ((await y.data()) as Float32Array).slice()));
  C.dispose([x, img, ...ys]);
  return out;
}

const same = (a: Float32Array[], b: Float32Array[]): boolean => a.length === b.length && a.every((v, i) => v.length === b[i]!.length && v.every((x, j) => Object.is(x, b[i]![j]!)));

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe('LoRA dropout (PEFT: B(A(dropout(x))) · scale, training mode only)', () => {
  test('dropout 0 is exactly no dropout, in training mode and out of it', async () => {
    const plain = withLora(undefined);
    const zero = withLora(0);
    expect(C.nn.hasLoraDropout(zero.net)).toBe(false);
    const evalOut = await outputs(plain.net);
    C.nn.setLoraTraining(plain.net, 7);
    C.nn.setLoraTraining(zero.net, 7);
    expect(same(await outputs(zero.net), evalOut)).toBe(true);
    expect(same(await outputs(plain.net), evalOut)).toBe(true);
  });

  test('with p = 0.5 the training output differs, repeats for the same seed, and evaluation is unaffected', async () => {
    const ref = withLora(undefined);
    const { net } = withLora(0.5);
    expect(C.nn.hasLoraDropout(net)).toBe(true);
    const evalRef = await outputs(ref.net);
    expect(same(await outputs(net), evalRef)).toBe(true); // not training yet
    C.nn.setLoraTraining(net, 11);
    const t1 = await outputs(net);
    const t1again = await outputs(net);
    C.nn.setLoraTraining(net, 12);
    const t2 = await outputs(net);
    expect(same(t1, t1again)).toBe(true);
    expect(t1[0]!.some((v, i) => v !== evalRef[0]![i])).toBe(true);
    expect(t1[1]!.some((v, i) => v !== evalRef[1]![i])).toBe(true);
    expect(same(t1, t2)).toBe(false);
    C.nn.setLoraTraining(net, null);
    expect(same(await outputs(net), evalRef)).toBe(true);
  });

  test('the training output is y + scale · B A (x · mask) with mask 0 or 1/(1-p), about p of it zero', async () => {
    const p = 0.25;
    const { net } = withLora(p);
    const adapter = net.lin.lora.adapters.get('default')!;
    expect(adapter.dropout!.p).toBe(p);
    const mask = C.nn.loraDropoutMask(5, adapter.dropout!, [2, 7, 6]);
    const m = (await mask.data()) as Float32Array;
    expect(m.every((v) => v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-7)).toBe(true);
    const big = (await C.nn.loraDropoutMask(5, { p, key: 1 }, [10000]).data()) as Float32Array;
    expect(big.filter((v) => v === 0).length / big.length).toBeCloseTo(p, 1);

    C.nn.setLoraTraining(net, 5);
    const x = X();
    const got = (await net.lin.forward(x).data()) as Float32Array;
    const want = await C.tidy(() =>
      C.add(C.linear(x, net.lin.weight.use(), net.lin.bias!.use()), C.mul(C.linear(C.linear(C.mul(x, mask), adapter.down.use()), adapter.up.use()), adapter.scale)),
    ).data();
    const maxErr = Math.max(...got.map((v, i) => Math.abs(v - (want as Float32Array)[i]!)));
    expect(maxErr).toBeLessThan(1e-6);
  });

  test('the mask is the same when a forward is recomputed (gradient checkpointing gives the plain gradients)', async () => {
    const { net, params } = withLora(0.5);
    C.nn.setLoraTraining(net, 21);
    const tensors = params.map(([, p]) => p.value);
    const loss = (ckpt: boolean) => (): C.Tensor => {
      const x = X();
      const run = (a: C.Tensor): C.Tensor => C.sum(C.mul(net.lin.forward(a), net.lin.forward(a)));
      return ckpt ? (C.checkpoint((a) => run(a), [x]) as C.Tensor) : run(x);
    };
    const plain = C.grad(loss(false), tensors);
    const ck = C.grad(loss(true), tensors);
    for (let i = 0; i < plain.length; i++) expect([...((await ck[i]!.data()) as Float32Array)]).toEqual([...((await plain[i]!.data()) as Float32Array)]);
    C.dispose([...plain, ...ck]);
  });

  test('addLora refuses a dropout outside [0, 1)', () => {
    expect(() => C.nn.addLora(new Net(1), { rank: 2, targets: ['lin'], dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
  });
});

describe('saveLora formats', () => {
  test('kohya and PEFT files load back through loadLora and reproduce the adapter; weights override the values written', async () => {
    const { net, params } = withLora(0.1);
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-core-lora-save-'));
    const want = await outputs(net);
    await C.nn.saveLora(net, path.join(dir, 'kohya.safetensors'), { format: 'kohya' });
    await C.nn.saveLora(net, path.join(dir, 'peft.safetensors'), { prefix: 'unet.' });
    const f = await C.loadSafetensors(path.join(dir, 'kohya.safetensors'));
    expect(f.names().sort()).toEqual(['lora_unet_conv.alpha', 'lora_unet_conv.lora_down.weight', 'lora_unet_conv.lora_up.weight', 'lora_unet_lin.alpha', 'lora_unet_lin.lora_down.weight', 'lora_unet_lin.lora_up.weight']);
    expect(f.metadata).toMatchObject({ ss_network_dim: '2', ss_network_alpha: '3' });
    await f.close();
    const peft = await C.loadSafetensors(path.join(dir, 'peft.safetensors'));
    expect(JSON.parse(peft.metadata['lora_adapter_metadata']!)).toMatchObject({ 'unet.r': 2, 'unet.lora_alpha': 3, 'unet.lora_dropout': 0.1 });
    await peft.close();
    for (const file of ['kohya.safetensors', 'peft.safetensors']) {
      const fresh = new Net(1);
      await C.nn.loadLora(fresh, path.join(dir, file), { adapterName: 'x' });
      expect(same(await outputs(fresh), want), file).toBe(true);
    }

    const zeros = new Map(params.map(([n, p]) => [n, new Float32Array(p.shape.reduce((a, b) => a * b, 1))]));
    await C.nn.saveLora(net, path.join(dir, 'zero.safetensors'), { weights: zeros });
    const fresh = new Net(1);
    const base = await outputs(fresh);
    await C.nn.loadLora(fresh, path.join(dir, 'zero.safetensors'));
    expect(same(await outputs(fresh), base)).toBe(true);
  });
});
