/**
 * `exportSdxsOnnx`: the SDXS parts as ONNX files for other runtimes — the graphs the ort-* backends compile,
 * recorded at one set of sizes (the recorded graphs are static-shaped), with their weights in external data
 * files and a model_index.json naming every input and output. Layout (as Optimum's ONNX Stable Diffusion
 * folders): `<out>/{unet,vae_encoder,vae_decoder,text_encoder}/model.onnx` + `model.onnx.data` + `config.json`.
 */
import * as C from '@sdxs/core';
import { Qwen35TextModel } from '@sdxs/text-qwen';
import { parseUNetConfig, UNet2DConditionModel } from '@sdxs/unet';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';
import { resolveComponent, type SdxsComponent } from './model-files.js';

export const ONNX_COMPONENTS = ['unet', 'vae-encoder', 'vae-decoder', 'text-encoder'] as const;
export type OnnxComponent = (typeof ONNX_COMPONENTS)[number];

export interface ExportSdxsOnnxOptions {
  /** parts to export (default all four) */
  components?: readonly OnnxComponent[];
  /** float32 graphs (default) or float16 graphs (float16 weights and products; float32 inputs and outputs) */
  compute?: C.ComputePrecision;
  /** standard ONNX only (no com.microsoft ops; checker-clean), for runtimes other than ONNX Runtime */
  portable?: boolean;
  /** image size in pixels (default 1024 x 1024): the UNet's and the decoder's latents are width/16 x height/16, the encoder takes a width x height image */
  width?: number;
  height?: number;
  /** batch (default 1; 2 for one classifier-free-guidance UNet call on [uncond, cond]) */
  batch?: number;
  /** prompt tokens (default 248, the pipeline's padded length); the UNet's text states are seq + 1 long (the pooled vector first) */
  seq?: number;
  /** called as each part starts and ends */
  onProgress?: (p: { component: OnnxComponent; phase: 'start' | 'end'; ms: number }) => void;
}

export interface OnnxComponentEntry {
  model: string;
  data: string;
  config: string;
  inputs: (C.OnnxTensorInfo & { meaning: string })[];
  outputs: (C.OnnxTensorInfo & { meaning: string })[];
  dataBytes: number;
}

export interface OnnxModelIndex {
  format: 'sdxs-onnx';
  version: 1;
  source: string;
  compute: C.ComputePrecision;
  portable: boolean;
  opsets: Record<string, number>;
  /** every dimension is fixed at export: export again for other sizes */
  dynamicAxes: false;
  size: { width: number; height: number; batch: number; seq: number };
  components: Partial<Record<OnnxComponent, OnnxComponentEntry>>;
}

const FOLDER: Record<OnnxComponent, { folder: string; source: SdxsComponent }> = {
  unet: { folder: 'unet', source: 'unet' },
  'vae-encoder': { folder: 'vae_encoder', source: 'vae' },
  'vae-decoder': { folder: 'vae_decoder', source: 'vae' },
  'text-encoder': { folder: 'text_encoder', source: 'text_encoder' },
};

type Meanings = Record<string, string>;

interface Plan {
  spec: Omit<C.ExportOnnxSpec<{ dispose(): void }>, 'compute' | 'portable'>;
  meanings: Meanings;
}

function positive(name: string, v: number | undefined, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new C.InputError(`ONNX export: ${name} must be a positive integer, got ${v}`);
  return n;
}

async function plan(component: OnnxComponent, dir: string, size: { width: number; height: number; batch: number; seq: number }): Promise<Plan> {
  const path = await import('node:path');
  const { width: W, height: H, batch: B, seq: S } = size;
  const config = await C.loadConfig(dir);
  switch (component) {
    case 'unet': {
      if (W % 16 || H % 16) throw new C.InputError(`ONNX export unet: width and height must be multiples of 16 (the VAE's latent scale), got ${W} x ${H}`);
      const cfg = parseUNetConfig(config, path.join(dir, 'config.json'));
      const D = cfg.crossAttentionDim[0]!;
      return {
        spec: {
          label: 'unet',
          load: () => UNet2DConditionModel.fromPretrained(dir),
          inputs: [
            { name: 'sample', shape: [B, cfg.inChannels, H / 16, W / 16] },
            { name: 'timestep', shape: [B] },
            { name: 'encoder_hidden_states', shape: [B, S + 1, D] },
            { name: 'encoder_attention_mask', shape: [B, S + 1] },
          ],
          forward: (m, x) => ({ out_sample: (m as UNet2DConditionModel).forward(x.sample!, x.timestep!, x.encoder_hidden_states!, x.encoder_attention_mask!) }),
        },
        meanings: {
          sample: 'noisy latents in UNet space ((z - latents_mean) / latents_std), NCHW',
          timestep: 'sigma * 1000 per batch row (flow matching)',
          encoder_hidden_states: "the text encoder's pooled vector (hidden state of the last real token) followed by its hidden states",
          encoder_attention_mask: '1 = keep, 0 = padding (the pooled position is 1)',
          out_sample: 'predicted velocity (noise - x0)',
        },
      };
    }
    case 'vae-encoder': {
      const vae = AsymmetricAutoencoderKL.fromConfig(config);
      const s = vae.encoderScale;
      vae.dispose();
      if (W % s || H % s) throw new C.InputError(`ONNX export vae-encoder: width and height must be multiples of ${s}, got ${W} x ${H}`);
      return {
        spec: {
          label: 'vae_encoder',
          load: () => AsymmetricAutoencoderKL.fromPretrained(dir),
          inputs: [{ name: 'image', shape: [B, 3, H, W] }],
          forward: (m, x) => {
            const post = (m as AsymmetricAutoencoderKL).encode(x.image!);
            return { latent_mean: post.mean, latent_logvar: post.logvar };
          },
        },
        meanings: {
          image: 'RGB image in [-1, 1], NCHW',
          latent_mean: 'posterior mean (raw latents; decoding it gives the 2x upscale)',
          latent_logvar: 'posterior log-variance, clamped to [-30, 20]',
        },
      };
    }
    case 'vae-decoder': {
      const vae = AsymmetricAutoencoderKL.fromConfig(config);
      const c = vae.config.latentChannels;
      const s = vae.decoderScale;
      vae.dispose();
      if (W % s || H % s) throw new C.InputError(`ONNX export vae-decoder: width and height must be multiples of ${s}, got ${W} x ${H}`);
      return {
        spec: {
          label: 'vae_decoder',
          load: () => AsymmetricAutoencoderKL.fromPretrained(dir),
          inputs: [{ name: 'latent', shape: [B, c, H / s, W / s] }],
          forward: (m, x) => ({ sample: (m as AsymmetricAutoencoderKL).decode(x.latent!) }),
        },
        meanings: {
          latent: 'raw latents (z_n * latents_std + latents_mean from UNet space), NCHW',
          sample: 'image, roughly [-1, 1]: (clamp(x, -1, 1) + 1) / 2 gives [0, 1]',
        },
      };
    }
    case 'text-encoder':
      return {
        spec: {
          label: 'text_encoder',
          // float32 weights: a 16-bit embedding table is looked up on the host from the ids (a step no graph records);
          // the float16 lowering converts float32 weights itself
          load: () => Qwen35TextModel.fromPretrained(dir, { dtype: 'float32' }),
          inputs: [
            { name: 'input_ids', shape: [B, S], dtype: 'int32' },
            { name: 'attention_mask', shape: [B, S] },
          ],
          forward: (m, x) => ({ hidden_states: (m as Qwen35TextModel).penultimateHiddenState(x.input_ids!, x.attention_mask!) }),
        },
        meanings: {
          input_ids: "token ids of the chat-wrapped prompt, right-padded (the tokenizer folder's chat template)",
          attention_mask: '1 = token, 0 = padding',
          hidden_states: "hidden_states[-2] (output of the second-to-last layer); the UNet's encoder_hidden_states are this with the last real token's vector prepended",
        },
      };
  }
}

async function writeParts(path: string, parts: readonly Uint8Array[]): Promise<void> {
  const fs = await import('node:fs/promises');
  const fh = await fs.open(path, 'w');
  try {
    for (const p of parts) await fh.write(p);
  } finally {
    await fh.close();
  }
}

/**
 * Export SDXS parts of the model at `source` (a folder or hub id) into `outDir` (Node, Bun, Deno). Returns the
 * model_index.json written there.
 */
export async function exportSdxsOnnx(source: string, outDir: string, options: ExportSdxsOnnxOptions = {}): Promise<OnnxModelIndex> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const size = {
    width: positive('width', options.width, 1024),
    height: positive('height', options.height, 1024),
    batch: positive('batch', options.batch, 1),
    seq: positive('seq', options.seq, 248),
  };
  const components = options.components ?? ONNX_COMPONENTS;
  for (const c of components) if (!ONNX_COMPONENTS.includes(c)) throw new C.InputError(`ONNX export: unknown component '${c}'; one of ${ONNX_COMPONENTS.join(', ')}`);
  const compute = options.compute ?? 'float32';
  const portable = options.portable ?? false;
  const index: OnnxModelIndex = { format: 'sdxs-onnx', version: 1, source, compute, portable, opsets: {}, dynamicAxes: false, size, components: {} };
  for (const component of components) {
    const t0 = performance.now();
    options.onProgress?.({ component, phase: 'start', ms: 0 });
    const { folder, source: part } = FOLDER[component];
    const dir = await resolveComponent(source, part);
    const { spec, meanings } = await plan(component, dir, size);
    const out = await C.exportOnnx({ ...spec, compute, portable });
    const target = path.join(outDir, folder);
    await fs.mkdir(target, { recursive: true });
    await fs.writeFile(path.join(target, 'model.onnx'), out.model);
    await writeParts(path.join(target, out.dataFile), out.data);
    await fs.copyFile(path.join(dir, 'config.json'), path.join(target, 'config.json'));
    const meaning = (i: C.OnnxTensorInfo): C.OnnxTensorInfo & { meaning: string } => ({ ...i, meaning: meanings[i.name] ?? '' });
    index.components[component] = {
      model: `${folder}/model.onnx`,
      data: `${folder}/${out.dataFile}`,
      config: `${folder}/config.json`,
      inputs: out.inputs.map(meaning),
      outputs: out.outputs.map(meaning),
      dataBytes: out.dataBytes,
    };
    index.opsets = { ...index.opsets, ...out.opsets };
    options.onProgress?.({ component, phase: 'end', ms: performance.now() - t0 });
  }
  await fs.writeFile(path.join(outDir, 'model_index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}
