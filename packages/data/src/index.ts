export { bucketSizes, nearestBucket, centreCrop, cropLoss, bucketKey, type Bucket, type BucketConfig } from './buckets.js';
export { sidecarCaptions, readManifest, looksLikeTags, parseCsvLine, type Captions } from './captions.js';
export { convertDataset, type ConvertOptions, type ConvertResult } from './convert.js';
export {
  mergeDatasetIndex,
  readDatasetIndex,
  INDEX_VERSION,
  type DatasetIndex,
  type DatasetInfo,
  type DatasetItem,
  type DatasetReport,
  type SkippedItem,
  type PartFile,
} from './dataset-index.js';
export { DatasetReader, type DatasetBatch, type ReaderOptions, type ReaderState, type CaptionKind } from './reader.js';
export { rgbToTensor, type VaeEncoderLike, type TextEncoderLike, type TextConditioning, type LatentPosterior } from './precompute.js';
export { listImages, inShard, IMAGE_EXTENSIONS } from './scan.js';
export { runDataConvert, DATA_CONVERT_USAGE, runDataCaption, DATA_CAPTION_USAGE } from './cli.js';
export { captionFolder, type CaptionFolderOptions, type CaptionFolderResult, type ImageCaptioner } from './caption.js';
