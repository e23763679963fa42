/** diffusers UNet2DConditionModel for the configurations the SDXS family uses. */
import * as C from '@sdxs/core';
import { getDownBlock, getMidBlock, getUpBlock, type AnyDownBlock, type AnyUpBlock, type BlockContext, type BlockInputs, type UNetMidBlock2DCrossAttn } from './blocks.js';
import { parseUNetConfig, type UNetConfig } from './config.js';
import { resolveModelDir, type FromPretrainedOptions } from './source.js';
import { TimestepEmbedding, timestepEmbedding } from './time-embedding.js';

export class UNet2DConditionModel extends C.nn.LoraModule {
  readonly conv_in: C.nn.Conv2d;
  readonly time_embedding: TimestepEmbedding;
  readonly down_blocks: C.ModuleList<AnyDownBlock>;
  readonly mid_block: UNetMidBlock2DCrossAttn | undefined;
  readonly up_blocks: C.ModuleList<AnyUpBlock>;
  readonly conv_norm_out: C.nn.GroupNorm;
  readonly conv_out: C.nn.Conv2d;
  /** Training: run each down/mid/up block under `C.checkpoint` (recomputed in the backward pass). */
  gradientCheckpointing = false;

  constructor(readonly config: UNetConfig) {
    super();
    const cfg = config;
    const ch = cfg.blockOutChannels;
    const n = ch.length;
    const ctx = (i: number, transformerLayers: number): BlockContext => ({
      tembChannels: cfg.timeEmbedDim,
      groups: cfg.normNumGroups,
      eps: cfg.normEps,
      heads: cfg.numHeads[i]!,
      transformerLayers,
      crossAttentionDim: cfg.crossAttentionDim[i]!,
      useLinearProjection: cfg.useLinearProjection,
    });
    this.conv_in = new C.nn.Conv2d(cfg.inChannels, ch[0]!, cfg.convInKernel, { padding: (cfg.convInKernel - 1) / 2 });
    this.time_embedding = new TimestepEmbedding(ch[0]!, cfg.timeEmbedDim);

    this.down_blocks = new C.ModuleList(
      cfg.downBlockTypes.map((type, i) => {
        const k = ctx(i, cfg.transformerLayersPerBlock[i]!);
        return getDownBlock(
          type,
          {
            inChannels: i === 0 ? ch[0]! : ch[i - 1]!,
            outChannels: ch[i]!,
            layers: cfg.layersPerBlock[i]!,
            addDownsample: i < n - 1,
            downsamplePadding: cfg.downsamplePadding,
          },
          k,
        );
      }),
    );

    this.mid_block = cfg.midBlockType ? getMidBlock(cfg.midBlockType, ch[n - 1]!, cfg.midBlockScaleFactor, ctx(n - 1, cfg.transformerLayersPerBlock[n - 1]!)) : undefined;

    this.up_blocks = new C.ModuleList(
      cfg.upBlockTypes.map((type, i) => {
        const r = n - 1 - i; // the matching down block
        const k = ctx(r, cfg.transformerLayersPerBlock[r]!);
        return getUpBlock(
          type,
          {
            inChannels: ch[Math.max(r - 1, 0)]!,
            prevOutputChannels: ch[Math.min(r + 1, n - 1)]!,
            outChannels: ch[r]!,
            layers: cfg.layersPerBlock[r]! + 1,
            addUpsample: i < n - 1,
          },
          k,
        );
      }),
    );

    this.conv_norm_out = new C.nn.GroupNorm(cfg.normNumGroups, ch[0]!, cfg.normEps);
    this.conv_out = new C.nn.Conv2d(ch[0]!, cfg.outChannels, cfg.convOutKernel, { padding: (cfg.convOutKernel - 1) / 2 });
  }

  /** Build from a parsed `config.json` object (weights unset: load them with `loadWeights`). */
  static fromConfig(config: C.ConfigObject, file = 'config.json'): UNet2DConditionModel {
    return new UNet2DConditionModel(parseUNetConfig(config, file));
  }

  /**
   * Load from a diffusers folder (`config.json` + `diffusion_pytorch_model.safetensors`, single or sharded)
   * or a hub repo id. Weights stream tensor by tensor; `dtype` 'float16' / 'bfloat16' keeps them in 16-bit
   * storage, converted to float32 per layer at use.
   */
  static async fromPretrained(source: string, opts: FromPretrainedOptions = {}): Promise<UNet2DConditionModel> {
    const dir = await resolveModelDir(source, opts);
    const cfg = await C.loadConfig(dir);
    const unet = UNet2DConditionModel.fromConfig(cfg, `${dir}/config.json`);
    const file = await C.openCheckpoint(dir, 'diffusion_pytorch_model');
    try {
      await unet.loadWeights(file, opts);
    } catch (e) {
      unet.dispose();
      throw e;
    } finally {
      await file.close();
    }
    return unet;
  }

  /** Bytes held by the loaded weights in their storage dtype (half of float32 for 16-bit storage). */
  get residentBytes(): number {
    return this.parameterBytes();
  }

  /** LoRA (the methods are LoraModule's): this model takes a file's `unet.` and unprefixed keys. */
  protected get loraTarget(): C.nn.LoraTarget {
    return { component: 'unet' };
  }

  /** Stream weights from an open safetensors file (or shards) into this model; returns resident bytes. */
  async loadWeights(file: C.SafetensorsFile | readonly C.SafetensorsFile[], opts: Pick<C.LoadWeightsOptions, 'dtype' | 'signal' | 'onProgress'> = {}): Promise<number> {
    return C.loadWeights(this, file, { dtype: opts.dtype, signal: opts.signal, onProgress: opts.onProgress, strict: true });
  }

  /**
   * Predicts the model output (flow-matching velocity for SDXS).
   * @param sample latents NCHW `[B, in_channels, H, W]` (any H, W)
   * @param timestep a number for the whole batch, or a float tensor `[B]` (or `[1]`, broadcast)
   * @param encoderHiddenStates `[B, S, cross_attention_dim]`
   * @param encoderAttentionMask optional `[B, S]` 1 = keep, 0 = discard (becomes a `(1 - m) * -10000` bias)
   */
  forward(sample: C.Tensor, timestep: number | C.Tensor, encoderHiddenStates: C.Tensor, encoderAttentionMask?: C.Tensor | null): C.Tensor {
    const cfg = this.config;
    if (sample.rank !== 4 || sample.shape[1] !== cfg.inChannels) {
      throw new C.ShapeError(`UNet sample must be [B, ${cfg.inChannels}, H, W], got ${C.fmtShape(sample.shape)}`);
    }
    const b = sample.shape[0]!;
    if (encoderHiddenStates.rank !== 3 || encoderHiddenStates.shape[0] !== b) {
      throw new C.ShapeError(`encoderHiddenStates must be [${b}, S, D], got ${C.fmtShape(encoderHiddenStates.shape)}`);
    }
    const s = encoderHiddenStates.shape[1]!;
    if (encoderAttentionMask && (encoderAttentionMask.rank !== 2 || encoderAttentionMask.shape[0] !== b || encoderAttentionMask.shape[1] !== s)) {
      throw new C.ShapeError(`encoderAttentionMask must be [${b}, ${s}], got ${C.fmtShape(encoderAttentionMask.shape)}`);
    }
    if (typeof timestep !== 'number' && !(timestep.rank <= 1 && (timestep.size === 1 || timestep.size === b))) {
      throw new C.ShapeError(`timestep must be a number or a tensor [${b}] (or [1]), got ${C.fmtShape(timestep.shape)}`);
    }
    return this.graph(sample, timestep, encoderHiddenStates, encoderAttentionMask ?? null);
  }

  /** The forward as one compiled graph on graph backends (ort-*), cached per shape; arguments checked by `forward`. */
  private readonly graph = C.compile('unet', (sample: C.Tensor, timestep: number | C.Tensor, encoderHiddenStates: C.Tensor, encoderAttentionMask: C.Tensor | null): C.Tensor => {
    const cfg = this.config;
    const b = sample.shape[0]!;
    const s = encoderHiddenStates.shape[1]!;
    let x = cfg.centerInputSample ? C.sub(C.mul(sample, 2), 1) : sample;
    let t = typeof timestep === 'number' ? C.full([b], timestep) : C.reshape(timestep.dtype === 'float32' ? timestep : C.cast(timestep, 'float32'), [timestep.size]);
    if (t.size !== b) t = C.add(C.zeros([b]), t); // one timestep for the whole batch
    const temb = this.time_embedding.forward(timestepEmbedding(t, cfg.blockOutChannels[0]!, cfg.flipSinToCos, cfg.freqShift));
    const contextBias = encoderAttentionMask ? C.reshape(C.mul(C.sub(1, C.cast(encoderAttentionMask, 'float32')), -10000), [b, 1, 1, s]) : null;
    const inp: BlockInputs = { temb, context: encoderHiddenStates, contextBias };
    // each block under gradient checkpointing when training asks for it (its arguments and result are tensor trees)
    const run = <A extends readonly C.TensorTree[], O extends C.TensorTree>(fn: (...args: A) => O, args: A): O =>
      this.gradientCheckpointing ? C.checkpoint(fn, args) : fn(...args);

    x = this.conv_in.forward(x);
    const skips: C.Tensor[] = [x];
    for (const block of this.down_blocks) {
      const r = run((h: C.Tensor, i: BlockInputs) => block.forward(h, i), [x, inp]);
      x = r.hidden;
      skips.push(...r.states);
    }
    const mid = this.mid_block;
    if (mid) x = run((h: C.Tensor, i: BlockInputs) => mid.forward(h, i), [x, inp]);
    for (const block of this.up_blocks) {
      const used = block.resnets.length;
      const mine = skips.splice(skips.length - used, used);
      const next = skips[skips.length - 1];
      const size: [number, number] | undefined = block.upsamplers && next ? [next.shape[2]!, next.shape[3]!] : undefined;
      x = run((h: C.Tensor, s: C.Tensor[], i: BlockInputs) => block.forward(h, s, i, size), [x, mine, inp]);
    }
    return this.conv_out.forward(C.silu(this.conv_norm_out.forward(x)));
  });
}
