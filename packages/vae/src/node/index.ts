/** Node-only entry (`@sdxs/vae/node`): image files through sharp, video through the system ffmpeg. */
export { readImage, writeImage, formatFromPath, IMAGE_EXTENSIONS, type DecodedImage, type ImageFormat, type ReadImageOptions, type WriteImageOptions } from './image-io.js';
export { ImageError, type ImageErrorReason } from './image-error.js';
export { writeAtomically, tempPathFor } from './atomic.js';
export { findFfmpeg, probeVideo, VideoError, FFMPEG_INSTALL_HINT, ffmpegVersion, parseFfmpegVersion, passthroughArgs, type FfmpegTools, type FfmpegVersion, type VideoInfo } from './ffmpeg.js';
export { upscaleVideo, VIDEO_EXTENSIONS, type UpscaleVideoOptions, type UpscaleVideoResult } from './video.js';
export { upscaleImageFile, type UpscaleFileOptions } from './upscale-file.js';
export { evaluateVaeFolder, listImages } from './eval-folder.js';
