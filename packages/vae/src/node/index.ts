/** Node-only entry (`@sdxs/vae/node`): image files through sharp, video through the system ffmpeg. */
export {
  readImage,
  readImageFrames,
  writeImage,
  writeImageFrames,
  formatFromPath,
  outputSizeProblem,
  IMAGE_EXTENSIONS,
  MULTI_FRAME_FORMATS,
  TRUNCATED_DATA,
  UNEXPLAINED_FAILURE,
  STRICT_DECODE_TRIES,
  type DecodedImage,
  type DecodedFrames,
  type ImageFormat,
  type ReadImageOptions,
  type WriteImageOptions,
  type WriteFramesOptions,
} from './image-io.js';
export { ImageError, ImageWriteError, type ImageErrorReason } from './image-error.js';
export { inspectImageFile, readImageFileBytes, nonRegularFileProblem, type ImageFileInfo, type ImageFileLimits } from './image-file.js';
export { writeAtomically, tempPathFor } from './atomic.js';
export { findFfmpeg, probeVideo, VideoError, FFMPEG_INSTALL_HINT, ffmpegVersion, parseFfmpegVersion, passthroughArgs, type FfmpegTools, type FfmpegVersion, type VideoInfo } from './ffmpeg.js';
export { upscaleVideo, VIDEO_EXTENSIONS, type UpscaleVideoOptions, type UpscaleVideoResult } from './video.js';
export { upscaleImageFile, type UpscaleFileOptions } from './upscale-file.js';
export { evaluateVaeFolder, listImages } from './eval-folder.js';
