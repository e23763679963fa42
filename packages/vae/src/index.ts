export { AsymmetricAutoencoderKL } from './autoencoder.js';
export { parseVaeConfig, encoderScale, decoderScale, type AsymmetricAutoencoderKLConfig, type DownBlockType, type UpBlockType } from './config.js';
export { DiagonalGaussian } from './posterior.js';
export type { FromPretrainedOptions } from './pretrained.js';
export { Encoder } from './modules/encoder.js';
export { MaskConditionDecoder } from './modules/decoder.js';
export { MaskConditionEncoder } from './modules/mask-condition-encoder.js';
export { UNetMidBlock2D } from './modules/mid-block.js';
export { DownEncoderBlock2D } from './modules/down-encoder-block.js';
export { UpDecoderBlock2D } from './modules/up-decoder-block.js';
export { upscale, upscaleBatch, DEFAULT_TILE, DEFAULT_OVERLAP, DEFAULT_MAX_INPUT_PIXELS, type UpscaleOptions } from './upscale/upscale.js';
export { encodeTiled, decodeTiled, type TileOptions, type TiledStepOptions, type TiledModel, type NormStatsPolicy, type Dims } from './upscale/tiled.js';
export { SharedGroupNormStats, type NormStatsMode } from './upscale/norm-stats.js';
export { toPlanar, fromPlanar, checkRaster, sampleMax, type Raster, type SampleArray } from './upscale/raster.js';
export { tileAxis, blendWeights, type Axis } from './upscale/tiles.js';
export { reflectIndex, padReflect } from './upscale/pad.js';
export { resizeBilinear } from './upscale/resize.js';
export { ProgressTracker, type UpscaleProgress, type ProgressCallback } from './upscale/progress.js';
export { randomizeWeights, type RandomWeightsOptions } from './random-weights.js';
export {
  DEFAULT_MAX_IMAGE_PIXELS,
  MAX_IMAGE_PIXELS_ENV,
  MAX_IMAGE_BYTES_ENV,
  maxImagePixelsFrom,
  maxImageBytesFrom,
  imageLimitsFromEnv,
  maxImageBytesFor,
  fileSizeProblem,
  pixelLimitProblem,
  checkImagePixels,
  imageSizeFromHeader,
  sniffImageFormat,
  type HeaderSize,
  type SniffedImageFormat,
} from './image-limits.js';
export { mse, psnr, sobelMagnitude, edgeError, gaussianKl, areaDownsample } from './eval/metrics.js';
export {
  evaluateVae,
  formatVaeReport,
  vaeReportCsv,
  vaeReportJson,
  psnrChartSvg,
  summarizeVaeScores,
  type VaeEvalMode,
  type VaeEvalOptions,
  type VaeEvalReport,
  type VaeImageScore,
  type PerceptualScorer,
} from './eval/quality.js';
