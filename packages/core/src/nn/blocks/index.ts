export { ResnetBlock2D, type ResnetBlock2DOptions } from './resnet.js';
export { Downsample2D, Upsample2D } from './sampling.js';
export { Attention, type AttentionOptions } from './attention.js';
