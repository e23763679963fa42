export { encodePng, readPngText, type PngImage } from './png.js';
export { SDXS_COMPONENTS, DEFAULT_MODEL, resolveComponent, resolveModelRoot, downloadModel, type SdxsComponent } from './model-files.js';
