import * as C from '@sdxs/core';
import { FlowMatchEulerDiscreteScheduler, sampleFlowMatch } from '@sdxs/sampler';
import { PromptRefiner, Qwen35TextModel, QwenTokenizer, SdxsTextEncoder, padConditioning, type SdxsConditioning } from '@sdxs/text-qwen';
import { UNet2DConditionModel } from '@sdxs/unet';
import { AsymmetricAutoencoderKL, decodeTiled, resizeBilinear, upscale as vaeUpscale, type Raster, type UpscaleOptions } from '@sdxs/vae';
import { GeneratedImage, planarToRgb8, toUnitRange } from './images.js';
import { DEFAULT_MODEL, resolveComponent, resolveModelRoot, type SdxsComponent } from './model-files.js';
import { PipelineLoras, type LoraTarget, type PipelineLoraOptions } from './lora.js';
import { GENERATION_DEFAULTS, type GenerateOptions, type ImagePromptInput, type PipelineProgress, type SdxsPipelineOptions } from './options.js';

export interface GenerateResult {
  images: GeneratedImage[];
  /** the prompts used (refined when `refine` was on), one per image */
  prompts: string[];
  seeds: number[];
}

/**
 * SDXS-1B text to image. Components load when first needed (`model_index.json` names them) and the text
 * encoder is freed after encoding unless asked to keep it.
 */
export class SdxsPipeline {
  private vae: AsymmetricAutoencoderKL | null = null;
  private unet: UNet2DConditionModel | null = null;
  private scheduler: FlowMatchEulerDiscreteScheduler | null = null;
  private encoder: SdxsTextEncoder | null = null;
  private refiner: PromptRefiner | null = null;
  private tokenizer: QwenTokenizer | null = null;
  private readonly loras = new PipelineLoras();

  private constructor(
    readonly source: string,
    readonly root: string,
    readonly modelIndex: Readonly<Record<string, unknown>>,
    private readonly options: SdxsPipelineOptions,
  ) {}

  /** Open a model: a local folder or a hub repo id (default AiArtLab/sdxs-1b). Only model_index.json is fetched now. */
  static async fromPretrained(source: string = DEFAULT_MODEL, options: SdxsPipelineOptions = {}): Promise<SdxsPipeline> {
    if (options.backend) await C.setBackend(options.backend);
    else await ensureBackend();
    const root = await resolveModelRoot(source, hubOpts(options, 'model_index.json'));
    const index = await C.loadConfig(root, undefined, 'model_index.json');
    for (const part of ['vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler'] as const) {
      if (!(part in index)) throw new C.ConfigError(`${root}/model_index.json: no '${part}' entry; is this an SDXS model folder?`);
    }
    return new SdxsPipeline(source, root, index, options);
  }

  private progress(p: PipelineProgress, local?: (p: PipelineProgress) => void): void {
    this.options.onProgress?.(p);
    local?.(p);
  }

  private async dir(component: SdxsComponent): Promise<string> {
    return resolveComponent(this.source, component, hubOpts(this.options, component, (p) => this.progress(p)));
  }

  private loadOpts(component: string): { dtype?: C.WeightDType; signal?: AbortSignal; onProgress: (p: { loaded: number; total: number }) => void } {
    return { dtype: this.options.dtype ?? (C.getBackend() === 'tfjs-wasm' ? 'half' : undefined), signal: this.options.signal, onProgress: (p) => this.progress({ stage: 'load', done: p.loaded, total: p.total, detail: component }) };
  }

  async getVae(): Promise<AsymmetricAutoencoderKL> {
    this.vae ??= await AsymmetricAutoencoderKL.fromPretrained(await this.dir('vae'), this.loadOpts('vae'));
    return this.vae;
  }
  async getUnet(): Promise<UNet2DConditionModel> {
    if (!this.unet) {
      const unet = await UNet2DConditionModel.fromPretrained(await this.dir('unet'), this.loadOpts('unet'));
      await this.loras.restore(unet, 'unet');
      this.unet = unet;
    }
    return this.unet;
  }
  async getScheduler(): Promise<FlowMatchEulerDiscreteScheduler> {
    this.scheduler ??= await FlowMatchEulerDiscreteScheduler.fromPretrained(await this.dir('scheduler'));
    return this.scheduler;
  }
  async getTokenizer(): Promise<QwenTokenizer> {
    this.tokenizer ??= await QwenTokenizer.fromPretrained(await this.dir('tokenizer'));
    return this.tokenizer;
  }
  async getTextEncoder(): Promise<SdxsTextEncoder> {
    if (this.encoder) return this.encoder;
    const tokenizer = await this.getTokenizer();
    // share the refiner's weights when it is loaded: one copy of the 2 B text tower
    let model = this.refiner?.model.model;
    if (!model) {
      model = await Qwen35TextModel.fromPretrained(await this.dir('text_encoder'), this.loadOpts('text_encoder'));
      await this.loras.restore(model, 'text_encoder');
    }
    this.encoder = new SdxsTextEncoder(model, tokenizer);
    return this.encoder;
  }
  /** The text encoder with its vision tower loaded (image prompts). */
  async getVisionEncoder(): Promise<SdxsTextEncoder> {
    const enc = await this.getTextEncoder();
    // one copy of the vision tower when the refiner (sharing the text tower) has it
    if (!enc.vision && this.refiner?.vision && this.refiner.model.model === enc.model) enc.vision = this.refiner.vision;
    if (!enc.vision) await enc.loadVision(await this.dir('text_encoder'), [await this.dir('tokenizer'), await this.dir('text_encoder')], this.loadOpts('text_encoder'));
    return enc;
  }
  async getRefiner(): Promise<PromptRefiner> {
    if (!this.refiner) {
      // make sure both parts are local, then load from the (local) model root
      await this.dir('text_encoder');
      await this.dir('tokenizer');
      const refiner = await PromptRefiner.fromPretrained(this.root, this.loadOpts('text_encoder'));
      await this.loras.restore(refiner.model.model, 'text_encoder');
      this.refiner = refiner;
    }
    return this.refiner;
  }

  /**
   * Load a LoRA (diffusers/PEFT or kohya; file, folder, URL or hub repo, `weightName` inside a folder/repo).
   * The UNet part loads now (loading the UNet); a text-encoder part is applied whenever the text encoder
   * loads. Adapters, weights and fusing survive `release()`. Returns the adapter's name.
   */
  async loadLoraWeights(source: string, opts: PipelineLoraOptions = {}): Promise<string> {
    const hub = { cacheDir: this.options.cacheDir, token: this.options.token, endpoint: this.options.endpoint, offline: this.options.offline, signal: this.options.signal };
    return this.loras.add(source, opts, hub, async (part) => (part === 'unet' ? this.getUnet() : (this.textModels()[0] ?? null)));
  }
  /** Active adapters and their weights, in every component that has them. */
  setAdapters(names: string | readonly string[], weights?: number | readonly number[]): void {
    this.loras.setAdapters(names, weights, this.loraModels());
  }
  /** Merge the active adapters into the weights of every component (W + scale · Σ w B A). */
  fuseLora(opts: { scale?: number } = {}): Promise<void> {
    return this.loras.fuse(opts.scale ?? 1, this.loraModels());
  }
  /** Restore the exact base weights. */
  unfuseLora(): void {
    this.loras.unfuse(this.loraModels());
  }
  /** Remove adapters (all when no name is given). */
  unloadLoraWeights(names?: string | readonly string[]): void {
    this.loras.unload(names, this.loraModels());
  }
  /** Names of the loaded adapters. */
  get loraAdapters(): string[] {
    return this.loras.names;
  }
  private textModels(): Qwen35TextModel[] {
    return [...new Set([this.refiner?.model.model, this.encoder?.model].filter((m): m is Qwen35TextModel => !!m))];
  }
  private loraModels(): [LoraTarget | null, 'unet' | 'text_encoder'][] {
    return [[this.unet, 'unet'], ...this.textModels().map((m) => [m, 'text_encoder'] as [LoraTarget, 'text_encoder'])];
  }

  /** Free a component's weights (it reloads on next use). Without an argument, everything. */
  release(component?: 'vae' | 'unet' | 'text_encoder'): void {
    if (!component || component === 'text_encoder') {
      if (this.refiner) {
        this.refiner.dispose();
        // the encoder shares the refiner's text tower; its vision tower is its own
        if (this.encoder?.vision && this.encoder.vision !== this.refiner.vision) this.encoder.vision.model.dispose();
      } else this.encoder?.dispose();
      this.refiner = null;
      this.encoder = null;
    }
    if (!component || component === 'unet') {
      this.unet?.dispose();
      this.unet = null;
    }
    if (!component || component === 'vae') {
      this.vae?.dispose();
      this.vae = null;
    }
  }

  /**
   * Write a prompt from a picture with the refiner and the text encoder's vision tower (how datasets are
   * captioned); `text` follows the captioning instruction in the same message.
   */
  async refineImage(image: ImagePromptInput, opts: { text?: string; instruction?: string; temperature?: number; maxNewTokens?: number; seed?: number; signal?: AbortSignal; onToken?: (id: number, text: string) => void } = {}): Promise<string> {
    const refiner = await this.getRefiner();
    if (!refiner.vision) await refiner.loadVision(await this.dir('text_encoder'), [await this.dir('tokenizer')], this.loadOpts('text_encoder'));
    const data = image.data instanceof Uint8Array ? image.data : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);
    const { text, ...rest } = opts;
    return refiner.refine({ image: { data, width: image.width, height: image.height, channels: image.channels ?? 3 }, text }, { ...rest, signal: opts.signal ?? this.options.signal });
  }

  /** Rewrite a prompt with the refiner (SDXS instruction, sampling at temperature 0.7 by default). */
  async refinePrompt(prompt: string, opts: { instruction?: string; temperature?: number; maxNewTokens?: number; seed?: number; signal?: AbortSignal; onToken?: (id: number, text: string) => void } = {}): Promise<string> {
    const refiner = await this.getRefiner();
    return refiner.refine(prompt, { ...opts, signal: opts.signal ?? this.options.signal });
  }

  /** Prompts → conditioning, negatives first: { cond, uncond } each [B, 249, D] with masks. The caller disposes them. */
  async encodePrompt(prompts: readonly string[], negativePrompts?: readonly string[]): Promise<{ cond: SdxsConditioning; uncond: SdxsConditioning }>;
  async encodePrompt(prompts: readonly string[], negativePrompts: readonly string[] | undefined, withUncond: false): Promise<{ cond: SdxsConditioning; uncond: null }>;
  async encodePrompt(prompts: readonly string[], negativePrompts?: readonly string[], withUncond = true): Promise<{ cond: SdxsConditioning; uncond: SdxsConditioning | null }> {
    const enc = await this.getTextEncoder();
    const cond = enc.encode(prompts);
    if (!withUncond) {
      await C.realize(cond);
      return { cond, uncond: null };
    }
    const neg = negativePrompts && negativePrompts.length ? (negativePrompts.length === 1 ? prompts.map(() => negativePrompts[0]!) : negativePrompts) : prompts.map(() => '');
    if (neg.length !== prompts.length) throw new C.InputError(`${neg.length} negative prompts for ${prompts.length} prompts`);
    const uncond = enc.encode(neg);
    // graph backends: compute the states now, while the text encoder is loaded (it may be released next)
    await C.realize([cond, uncond]);
    return { cond, uncond };
  }

  /**
   * An image prompt (with optional text) → conditioning for `rows` images, the unconditional branch (negative or
   * empty prompts) padded to the same length. The caller disposes them.
   */
  async encodeImagePrompt(image: ImagePromptInput, text: string | undefined, rows: number, negativePrompts: readonly string[] = [], withUncond = true): Promise<{ cond: SdxsConditioning; uncond: SdxsConditioning | null }> {
    const enc = await this.getVisionEncoder();
    const data = image.data instanceof Uint8Array ? image.data : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);
    const one = enc.encode({ image: { data, width: image.width, height: image.height, channels: image.channels ?? 3 }, text });
    const cond = rows === 1 ? one : C.tidy(() => ({ states: C.repeatAxes(one.states, [rows, 1, 1]), mask: C.repeatAxes(one.mask, [rows, 1]) }));
    if (cond !== one) C.dispose([one.states, one.mask]);
    if (!withUncond) {
      await C.realize(cond);
      return { cond, uncond: null };
    }
    const neg = negativePrompts.length === 0 ? new Array<string>(rows).fill('') : negativePrompts.length === 1 ? new Array<string>(rows).fill(negativePrompts[0]!) : [...negativePrompts];
    if (neg.length !== rows) throw new C.InputError(`${neg.length} negative prompts for ${rows} images`);
    const raw = enc.encode(neg);
    const uncond = padConditioning(raw, cond.states.shape[1]!);
    if (uncond !== raw) C.dispose([raw.states, raw.mask]);
    await C.realize([cond, uncond]);
    return { cond, uncond };
  }

  /** The VAE 2x upscale of an image (tiled, posterior mean). */
  async upscale<T extends Raster['data']>(image: Raster<T>, opts: UpscaleOptions = {}): Promise<Raster<T>> {
    const vae = await this.getVae();
    return vaeUpscale(vae, image, {
      signal: this.options.signal,
      ...opts,
      onProgress: (p) => {
        this.progress({ stage: 'upscale', done: p.done, total: p.total });
        opts.onProgress?.(p);
      },
    });
  }

  async generate(o: GenerateOptions): Promise<GenerateResult> {
    // graph backends (ort-*) compile each model part on first use at a shape: report it as its own stage
    const off = C.onCompile((e) => this.progress({ stage: 'compile', done: e.phase === 'end' ? 1 : 0, total: 1, detail: e.label }, o.onProgress));
    try {
      return await this.generateInner(o);
    } finally {
      off();
    }
  }

  private async generateInner(o: GenerateOptions): Promise<GenerateResult> {
    const signal = o.signal ?? this.options.signal;
    const width = o.width ?? GENERATION_DEFAULTS.width;
    const height = o.height ?? GENERATION_DEFAULTS.height;
    const steps = o.steps ?? GENERATION_DEFAULTS.steps;
    const guidanceScale = o.guidanceScale ?? GENERATION_DEFAULTS.guidanceScale;
    const batch = o.batch ?? GENERATION_DEFAULTS.batch;
    const imagePrompt = o.imagePrompt;
    const basePrompts = o.prompt === undefined ? (imagePrompt ? [''] : []) : typeof o.prompt === 'string' ? [o.prompt] : [...o.prompt];
    if (imagePrompt && basePrompts.length !== 1) throw new C.InputError('generate: an image prompt takes at most one text prompt');
    if (imagePrompt && o.refine) throw new C.InputError('generate: refine does not apply to an image prompt (caption the image with the refiner first: PromptRefiner.refine with an image)');
    const negatives = o.negativePrompt === undefined ? [] : typeof o.negativePrompt === 'string' ? [o.negativePrompt] : [...o.negativePrompt];
    if (basePrompts.length === 0) throw new C.InputError('generate: no prompt given');
    if (!Number.isInteger(steps) || steps < 1) throw new C.InputError(`generate: steps must be a positive integer, got ${steps}`);
    if (!Number.isInteger(batch) || batch < 1) throw new C.InputError(`generate: batch must be a positive integer, got ${batch}`);
    const vae = await this.getVae();
    const f = vae.decoderScale;
    for (const [name, v] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(v) || v <= 0 || v % f !== 0) {
        throw new C.InputError(`generate: ${name} must be a positive multiple of ${f} (the VAE's latent scale), got ${v}; try ${Math.max(f, Math.round(v / f) * f)}`);
      }
    }
    const strength = o.strength ?? GENERATION_DEFAULTS.strength;
    if (o.image && !(strength > 0 && strength <= 1)) throw new C.InputError(`generate: strength must be in (0, 1], got ${strength}`);
    const local = o.onProgress;
    const seed0 = o.seed ?? Math.floor(Math.random() * 2 ** 31);

    // 1. prompts (refined), one row per image
    let prompts = basePrompts;
    if (o.refine) {
      const ro = typeof o.refine === 'object' ? o.refine : {};
      prompts = [];
      for (const [i, p] of basePrompts.entries()) {
        C.throwIfAborted(signal);
        this.progress({ stage: 'refine', done: i, total: basePrompts.length }, local);
        prompts.push(await this.refinePrompt(p, { ...ro, seed: ro.seed ?? seed0 + i, signal }));
      }
    }
    const rows = prompts.flatMap((p) => new Array<string>(batch).fill(p));
    const negRows = negatives.length <= 1 ? negatives : negatives.flatMap((n) => new Array<string>(batch).fill(n));
    const seeds = rows.map((_, i) => seed0 + i);

    // 2. conditioning
    this.progress({ stage: 'encode', done: 0, total: 1 }, local);
    const { cond, uncond } = imagePrompt
      ? await this.encodeImagePrompt(imagePrompt, basePrompts[0] || undefined, rows.length, negRows, guidanceScale > 1)
      : guidanceScale > 1
        ? await this.encodePrompt(rows, negRows)
        : { ...(await this.encodePrompt(rows, negRows, false)), uncond: null };
    if (this.options.releaseTextEncoder ?? true) this.release('text_encoder');
    this.progress({ stage: 'encode', done: 1, total: 1 }, local);

    const unet = await this.getUnet();
    const scheduler = await this.getScheduler();
    const lh = height / f;
    const lw = width / f;
    const latentChannels = vae.config.latentChannels;
    try {
      // 3. noise: image i from its own seed, so a seed reproduces an image whatever the batch
      const noise = C.tidy(() => C.concat(seeds.map((s) => C.randomNormal([1, latentChannels, lh, lw], { seed: s })), 0));
      let initLatents: C.Tensor | undefined;
      if (o.image) initLatents = this.encodeInitImage(vae, o.image, width, height, rows.length);
      const latents = await sampleFlowMatch({
        unet,
        scheduler,
        initNoise: noise,
        cond: cond.states,
        condMask: cond.mask,
        uncond: uncond?.states,
        uncondMask: uncond?.mask,
        steps,
        guidanceScale,
        image: initLatents,
        strength: o.image ? strength : undefined,
        signal,
        onStep: (s) => this.progress({ stage: 'denoise', done: s.step, total: s.total }, local),
      });
      C.dispose([noise, initLatents]);
      try {
        checkFinite((await latents.data()) as Float32Array, `generate: the latents became non-finite after ${steps} denoising steps`);
      } catch (e) {
        latents.dispose();
        throw e;
      }

      // 4. decode one image at a time (bounded memory), then optional 2x upscale
      const images: GeneratedImage[] = [];
      for (let i = 0; i < rows.length; i++) {
        C.throwIfAborted(signal);
        this.progress({ stage: 'decode', done: i, total: rows.length }, local);
        let [h, w] = [lh * f, lw * f];
        let planar = await this.decodeLatent(vae, latents, i, o.decodeTile);
        try {
          checkFinite(planar, `generate: the VAE decoded image ${i + 1} of ${rows.length} to non-finite values`);
        } catch (e) {
          latents.dispose();
          throw e;
        }
        if (o.upscale) {
          const up = await this.upscale({ width: w, height: h, channels: 3, data: interleave(planar, w, h) }, { signal });
          planar = deinterleave(up.data as Float32Array, up.width, up.height);
          [h, w] = [up.height, up.width];
        }
        images.push(
          new GeneratedImage(planar, w, h, {
            prompt: rows[i]!,
            ...(prompts !== basePrompts ? { original_prompt: basePrompts[Math.floor(i / batch)]! } : {}),
            negative_prompt: negRows.length ? negRows[negRows.length === 1 ? 0 : i]! : '',
            seed: seeds[i]!,
            steps,
            guidance_scale: guidanceScale,
            width,
            height,
            upscaled: !!o.upscale,
            ...(o.image ? { strength } : {}),
            ...(imagePrompt ? { image_prompt: `${imagePrompt.width}x${imagePrompt.height}` } : {}),
            model: this.source,
          }),
        );
      }
      this.progress({ stage: 'decode', done: rows.length, total: rows.length }, local);
      latents.dispose();
      return { images, prompts: rows, seeds };
    } finally {
      C.dispose([cond.states, cond.mask, uncond?.states, uncond?.mask]);
    }
  }

  /**
   * One image of the batch: denormalise, decode, map to [0, 1]. Tiled (with blending) when asked, or by
   * default on tfjs-wasm above 640x640 px, whose 4 GiB memory cannot hold a 1024 px decode.
   */
  private async decodeLatent(vae: AsymmetricAutoencoderKL, latents: C.Tensor, i: number, tile: number | undefined): Promise<Float32Array> {
    const [, c, h, w] = latents.shape as [number, number, number, number];
    const auto = C.getBackend() === 'tfjs-wasm' && h * w * vae.decoderScale ** 2 > 640 * 640 ? 256 : 0;
    const t = tile ?? auto;
    if (t > 0 && (h * vae.encoderScale > t || w * vae.encoderScale > t)) {
      const z = C.tidy(() => vae.denormalizeLatents(C.sliceAxis(latents, 0, i, i + 1)));
      const data = (await z.data()) as Float32Array;
      z.dispose();
      const x = await decodeTiled(vae, data, [1, c, h, w], { tile: t, overlap: Math.min(64, t / 4), signal: this.options.signal });
      for (let k = 0; k < x.length; k++) x[k] = (Math.min(1, Math.max(-1, x[k]!)) + 1) / 2;
      return x;
    }
    const img = C.tidy(() => toUnitRange(vae.decode(vae.denormalizeLatents(C.sliceAxis(latents, 0, i, i + 1)))));
    const planar = (await img.data()) as Float32Array;
    img.dispose();
    return planar;
  }

  /** img2img: the image resized to half the target size, encoded (posterior mean) and normalised: [n, C, H/16, W/16]. */
  private encodeInitImage(vae: AsymmetricAutoencoderKL, image: NonNullable<GenerateOptions['image']>, width: number, height: number, n: number): C.Tensor {
    const ratio = vae.upscaleFactor;
    const [tw, th] = [width / ratio, height / ratio];
    const planes: Float32Array[] = [];
    const np = image.width * image.height;
    for (let c = 0; c < 3; c++) {
      const p = new Float32Array(np);
      for (let i = 0; i < np; i++) p[i] = image.data[i * image.channels + c]! / 255;
      planes.push(resizeBilinear(p, image.height, image.width, th, tw));
    }
    const x = new Float32Array(3 * tw * th);
    planes.forEach((p, c) => p.forEach((v, i) => (x[c * tw * th + i] = v * 2 - 1)));
    return C.tidy(() => {
      const post = vae.encode(C.tensor(x, [1, 3, th, tw]));
      const z = vae.normalizeLatents(post.mean);
      post.dispose();
      return C.concat(new Array<C.Tensor>(n).fill(z), 0);
    });
  }

  /** Free everything. */
  dispose(): void {
    this.release();
  }
}

function interleave(planar: Float32Array, w: number, h: number): Float32Array {
  const n = w * h;
  const out = new Float32Array(n * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) out[i * 3 + c] = planar[c * n + i]!;
  return out;
}
function deinterleave(data: Float32Array, w: number, h: number): Float32Array {
  const n = w * h;
  const out = new Float32Array(n * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) out[c * n + i] = data[i * 3 + c]!;
  return out;
}

async function ensureBackend(): Promise<void> {
  try {
    C.getBackend();
  } catch {
    await C.setBackend('auto');
  }
}

function hubOpts(o: SdxsPipelineOptions, detail: string, onProgress?: (p: PipelineProgress) => void): C.HubDownloadOptions {
  return {
    revision: o.revision,
    cacheDir: o.cacheDir,
    token: o.token,
    endpoint: o.endpoint,
    offline: o.offline,
    signal: o.signal,
    onProgress: onProgress ? (p) => onProgress({ stage: 'download', done: p.loaded, total: p.total ?? p.loaded, detail: p.file }) : undefined,
  };
}

export { planarToRgb8 };

/**
 * Throws a NonFiniteError (a runtime failure, exit 1 in the CLI) when any value is NaN or ±Inf: such an
 * image would be written as all black and reported as a success.
 */
function checkFinite(values: Float32Array, what: string): void {
  let bad = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) bad++;
  if (bad === 0) return;
  throw new C.NonFiniteError(
    `${what} (${bad} of ${values.length} values are NaN or ±Inf); no image is written. A LoRA with extreme values or scale, ` +
      'a corrupt checkpoint or an extreme guidance scale drives the model out of range: remove or lower the LoRA (--lora file:0.5), check the weights',
  );
}
