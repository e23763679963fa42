import * as C from '@sdxs/core';
import { decoderScale, encoderScale, parseVaeConfig, type AsymmetricAutoencoderKLConfig } from './config.js';
import { MaskConditionDecoder } from './modules/decoder.js';
import { Encoder } from './modules/encoder.js';
import { DiagonalGaussian } from './posterior.js';
import { loadPretrained, type FromPretrainedOptions } from './pretrained.js';

/** A parsed config has camelCase fields; a config.json object has the snake_case keys. */
const isParsed = (c: AsymmetricAutoencoderKLConfig | C.ConfigObject): c is AsymmetricAutoencoderKLConfig =>
  Object.prototype.hasOwnProperty.call(c, 'latentChannels') && !Object.prototype.hasOwnProperty.call(c, 'latent_channels');

/**
 * diffusers AsymmetricAutoencoderKL. Fields are the checkpoint's top-level keys (`encoder`, `decoder`,
 * `quant_conv`, `post_quant_conv`). Encoding a W×H image gives a W/8×H/8 latent (for the SDXS config);
 * decoding a latent gives 16× its size, so decode(encode(x).mean) is a 2× upscaler.
 */
export class AsymmetricAutoencoderKL extends C.Module {
  readonly encoder: Encoder;
  readonly decoder: MaskConditionDecoder;
  readonly quant_conv: C.nn.Conv2d;
  readonly post_quant_conv: C.nn.Conv2d;
  readonly config: Readonly<AsymmetricAutoencoderKLConfig>;

  /**
   * Builds the module with unset parameters: load weights (or use `fromPretrained`) before a forward.
   * `config` is a parsed config, or a diffusers `config.json` object (snake_case keys), parsed here.
   */
  constructor(config: AsymmetricAutoencoderKLConfig | C.ConfigObject) {
    super();
    const c = isParsed(config) ? config : parseVaeConfig(config);
    this.config = Object.freeze({ ...c });
    this.encoder = new Encoder(c);
    this.decoder = new MaskConditionDecoder(c);
    this.quant_conv = new C.nn.Conv2d(2 * c.latentChannels, 2 * c.latentChannels, 1);
    this.post_quant_conv = new C.nn.Conv2d(c.latentChannels, c.latentChannels, 1);
  }

  /** Builds from a `config.json` object (weights unset); `file` names it in errors. */
  static fromConfig(config: C.ConfigObject, file = 'config.json'): AsymmetricAutoencoderKL {
    return new AsymmetricAutoencoderKL(parseVaeConfig(config, file));
  }

  /** Loads a model from a local folder, an http(s) URL of a folder, or a hub repo id (`owner/name`). */
  static async fromPretrained(source: string, opts: FromPretrainedOptions = {}): Promise<AsymmetricAutoencoderKL> {
    return loadPretrained(source, opts, (cfg) => new AsymmetricAutoencoderKL(cfg));
  }

  /** Image → latent spatial factor (8 for SDXS). */
  get encoderScale(): number {
    return encoderScale(this.config);
  }
  /** Latent → image spatial factor (16 for SDXS): the pipeline's `vae_scale_factor`. */
  get decoderScale(): number {
    return decoderScale(this.config);
  }
  /** Image → decoded image factor of encode-then-decode (2 for SDXS). */
  get upscaleFactor(): number {
    return this.decoderScale / this.encoderScale;
  }

  /** Posterior of an NCHW image in [-1, 1]. The caller disposes it. */
  encode(image: C.Tensor): DiagonalGaussian {
    this.checkInput(image, this.config.inChannels, 'image', 'in_channels');
    const moments = this.encodeGraph(image);
    try {
      return new DiagonalGaussian(moments);
    } finally {
      moments.dispose();
    }
  }

  /** NCHW image (roughly [-1, 1]) of an NCHW latent. */
  decode(latent: C.Tensor): C.Tensor {
    this.checkInput(latent, this.config.latentChannels, 'latent', 'latent_channels');
    return this.decodeGraph(latent);
  }

  /** One compiled graph each on graph backends (ort-*), cached per shape. */
  private readonly encodeGraph = C.compile('vae.encode', (image: C.Tensor) => this.quant_conv.forward(this.encoder.forward(image)));
  private readonly decodeGraph = C.compile('vae.decode', (latent: C.Tensor) => this.decoder.forward(this.post_quant_conv.forward(latent)));

  /** UNet space from raw latents: (z − latents_mean) / latents_std, per channel. */
  normalizeLatents(z: C.Tensor): C.Tensor {
    const [mean, std] = this.latentStats();
    return C.tidy(() => C.div(C.sub(z, C.tensor(mean, [1, mean.length, 1, 1])), C.tensor(std, [1, std.length, 1, 1])));
  }

  /** Raw latents from UNet space: z_n · latents_std + latents_mean, per channel. */
  denormalizeLatents(zn: C.Tensor): C.Tensor {
    const [mean, std] = this.latentStats();
    return C.tidy(() => C.add(C.mul(zn, C.tensor(std, [1, std.length, 1, 1])), C.tensor(mean, [1, mean.length, 1, 1])));
  }

  private latentStats(): [number[], number[]] {
    const { latentsMean: mean, latentsStd: std } = this.config;
    if (!mean || !std) throw new C.ConfigError(`the VAE config has no ${mean ? 'latents_std' : 'latents_mean'}: latent normalisation needs both arrays`);
    return [mean, std];
  }

  private checkInput(x: C.Tensor, channels: number, what: string, key: string): void {
    if (x.rank !== 4 || x.shape[1] !== channels) {
      throw new C.ShapeError(`AsymmetricAutoencoderKL: ${what} must be NCHW with ${channels} channels (config '${key}'), got [${x.shape.join(', ')}]`);
    }
    if (x.shape[2]! < 1 || x.shape[3]! < 1 || x.shape[0]! < 1) throw new C.ShapeError(`AsymmetricAutoencoderKL: empty ${what} [${x.shape.join(', ')}]`);
  }
}
