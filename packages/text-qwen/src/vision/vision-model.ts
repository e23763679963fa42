/**
 * Qwen3_5VisionModel (`model.visual.*` of a Qwen3_5ForConditionalGeneration checkpoint): the Conv3d patch
 * embedding (kernel = stride, so one matmul over flattened patches), the learned square position grid resampled
 * bilinearly to each image, the blocks with 2-D rotary attention within each image, and the 2×2 patch merger.
 */
import * as C from '@sdxs/core';
import { loadCheckpointInto, resolveQwenSource, type Qwen35LoadOptions } from '../model/load.js';
import { parseQwen35VisionConfig, type Qwen35VisionConfig } from './config.js';
import { attentionSegments, checkGrids, positionEmbeddingTaps, visionRopeTables, type GridThw } from './positions.js';
import { Qwen35VisionBlock } from './vision-block.js';

/** The checkpoint prefix of the vision tower. */
export const VISION_PREFIX = 'model.visual.';

/** Conv3d with kernel = stride = [T, P, P]: weight [D, C, T, P, P], applied as [N, C·T·P·P] @ Wᵀ. */
export class Qwen35PatchProjection extends C.Module {
  readonly weight: C.Parameter;
  readonly bias: C.Parameter;
  constructor(readonly cfg: Qwen35VisionConfig) {
    super();
    this.weight = new C.Parameter([cfg.hiddenSize, cfg.inChannels, cfg.temporalPatchSize, cfg.patchSize, cfg.patchSize]);
    this.bias = new C.Parameter([cfg.hiddenSize]);
  }
  get patchDim(): number {
    return this.cfg.inChannels * this.cfg.temporalPatchSize * this.cfg.patchSize * this.cfg.patchSize;
  }
  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => C.linear(x, C.reshape(this.weight.use(), [this.cfg.hiddenSize, this.patchDim]), this.bias.use()));
  }
}

export class Qwen35VisionPatchEmbed extends C.Module {
  readonly proj: Qwen35PatchProjection;
  constructor(cfg: Qwen35VisionConfig) {
    super();
    this.proj = new Qwen35PatchProjection(cfg);
  }
  forward(x: C.Tensor): C.Tensor {
    return this.proj.forward(x);
  }
}

/** LayerNorm on each patch, then 2×2 neighbouring patches (consecutive in the processor's order) → one token. */
export class Qwen35VisionPatchMerger extends C.Module {
  readonly norm: C.nn.LayerNorm;
  readonly linear_fc1: C.nn.Linear;
  readonly linear_fc2: C.nn.Linear;
  /** patches per merged token (merge²) and the merged width (hidden · merge²) */
  private readonly unit: number;
  private readonly merged: number;
  constructor(cfg: Qwen35VisionConfig) {
    super();
    this.unit = cfg.spatialMergeSize * cfg.spatialMergeSize;
    this.merged = cfg.hiddenSize * this.unit;
    this.norm = new C.nn.LayerNorm(cfg.hiddenSize, 1e-6);
    this.linear_fc1 = new C.nn.Linear(this.merged, this.merged, true);
    this.linear_fc2 = new C.nn.Linear(this.merged, cfg.outHiddenSize, true);
  }
  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => {
      const n = x.shape[0]!;
      const h = C.reshape(this.norm.forward(x), [n / this.unit, this.merged]);
      return this.linear_fc2.forward(C.gelu(this.linear_fc1.forward(h)));
    });
  }
}

export interface VisionOutput {
  /** [N, hidden]: the blocks' output, one row per patch (before the merger) */
  lastHiddenState: C.Tensor;
  /** [N / merge², outHidden]: the merged tokens that replace the image placeholders */
  imageEmbeds: C.Tensor;
}

/** Grid rows [[t, h, w], ...] as given (host arrays or an int tensor [images, 3]). */
export type ImageGridInput = readonly GridThw[] | readonly (readonly number[])[] | C.Tensor;

/** Host grid rows of an ImageGridInput. */
export function gridRows(grid: ImageGridInput): GridThw[] {
  if (grid instanceof C.Tensor) {
    if (grid.rank !== 2 || grid.shape[1] !== 3) throw new C.ShapeError(`imageGridThw ${JSON.stringify(grid.shape)} must be [images, 3]`);
    const v = Array.from(grid.dataSync() as ArrayLike<number>, Number);
    return Array.from({ length: grid.shape[0]! }, (_, i) => [v[i * 3]!, v[i * 3 + 1]!, v[i * 3 + 2]!] as const);
  }
  return grid.map((r) => [r[0]!, r[1]!, r[2]!] as const);
}

export class Qwen35VisionModel extends C.Module {
  readonly patch_embed: Qwen35VisionPatchEmbed;
  readonly pos_embed: C.nn.Embedding;
  readonly blocks: C.ModuleList<Qwen35VisionBlock>;
  readonly merger: Qwen35VisionPatchMerger;

  constructor(readonly config: Qwen35VisionConfig) {
    super();
    this.patch_embed = new Qwen35VisionPatchEmbed(config);
    this.pos_embed = new C.nn.Embedding(config.numPositionEmbeddings, config.hiddenSize);
    this.blocks = new C.ModuleList(Array.from({ length: config.depth }, () => new Qwen35VisionBlock(config)));
    this.merger = new Qwen35VisionPatchMerger(config);
  }

  /** Reads `config.json` (`vision_config`) and `model.visual.*` of `model.safetensors` (single or sharded). */
  static async fromPretrained(source: string, options: Qwen35LoadOptions = {}): Promise<Qwen35VisionModel> {
    const dir = await resolveQwenSource(source, options);
    const model = new Qwen35VisionModel(parseQwen35VisionConfig(await C.loadConfig(dir), `${dir}/config.json`));
    return loadCheckpointInto(dir, model, (files) => model.loadFrom(files, options));
  }

  /** Loads `model.visual.*` from open checkpoint files (a clear error naming them when there is no vision tower). */
  async loadFrom(files: readonly C.SafetensorsFile[], options: Qwen35LoadOptions = {}): Promise<number> {
    if (!files.some((f) => f.names().some((k) => k.startsWith(VISION_PREFIX)))) {
      throw new C.CheckpointError(`${files.map((f) => f.file).join(', ')}: no '${VISION_PREFIX}*' tensors: this checkpoint has no vision tower, so it cannot encode images`);
    }
    return C.loadWeights(this, files, {
      prefix: VISION_PREFIX,
      dtype: options.dtype,
      signal: options.signal,
      onProgress: options.onProgress,
      skip: (k) => !k.startsWith(VISION_PREFIX),
    });
  }

  /** Values per patch row of `pixelValues`: C·T·P·P. */
  get patchDim(): number {
    return this.patch_embed.proj.patchDim;
  }

  /**
   * pixelValues [patches, C·T·P·P] (the processor's order), imageGridThw [[t, h, w], ...] →
   * `{ lastHiddenState [patches, hidden], imageEmbeds [patches / merge², outHidden] }`.
   */
  forward(pixelValuesInput: C.Tensor | Float32Array, imageGridThw: ImageGridInput): VisionOutput {
    const cfg = this.config;
    const grids = gridRows(imageGridThw);
    const total = checkGrids(grids, cfg.spatialMergeSize);
    if (!(pixelValuesInput instanceof C.Tensor) && pixelValuesInput.length !== total * this.patchDim) {
      throw new C.ShapeError(`pixelValues has ${pixelValuesInput.length} values; imageGridThw ${JSON.stringify(grids)} needs ${total} x ${this.patchDim}`);
    }
    const pixelValues = pixelValuesInput instanceof C.Tensor ? pixelValuesInput : C.tensor(pixelValuesInput, [total, this.patchDim]);
    try {
      return this.run(pixelValues, grids, total);
    } finally {
      if (pixelValues !== pixelValuesInput) pixelValues.dispose();
    }
  }

  private run(pixelValues: C.Tensor, grids: GridThw[], total: number): VisionOutput {
    if (pixelValues.rank !== 2 || pixelValues.shape[0] !== total || pixelValues.shape[1] !== this.patchDim) {
      throw new C.ShapeError(`pixelValues ${JSON.stringify(pixelValues.shape)} must be [${total}, ${this.patchDim}] for imageGridThw ${JSON.stringify(grids)}`);
    }
    return this.graph(pixelValues, grids, total);
  }

  /** The vision tower as one compiled graph on graph backends (ort-*), cached per shape; arguments checked by `run`. */
  private readonly graph = C.compile('qwen-vision', (pixelValues: C.Tensor, grids: GridThw[], total: number): VisionOutput => {
    const cfg = this.config;
    const taps = positionEmbeddingTaps(grids, cfg.numGridPerSide, cfg.spatialMergeSize);
    const rope = visionRopeTables(grids, cfg.spatialMergeSize, cfg.headDim, cfg.ropeTheta);
    const segments = attentionSegments(grids);
    const x = pixelValues.dtype === 'float32' ? pixelValues : C.cast(pixelValues, 'float32');
    const patches = this.patch_embed.forward(x);
    // pos_embed rows at the 4 bilinear taps of each patch, weighted and summed: [N, 4, D] → [N, D]
    const rows = this.pos_embed.forward(C.tensor(taps.indices, [total, 4], 'int32'));
    const pos = C.sum(C.mul(rows, C.tensor(taps.weights, [total, 4, 1])), 1);
    let h = C.add(patches, pos);
    for (const block of this.blocks) {
      const input = h;
      h = block.forward(input, rope, segments);
      input.dispose();
    }
    return { lastHiddenState: h, imageEmbeds: this.merger.forward(h) };
  });
}
