import { resolveModelSource, type HubDownloadOptions } from '@sdxs/core';

/** The parts of an SDXS model folder and the files each needs (checkpoints may be sharded). */
export const SDXS_COMPONENTS = {
  vae: { files: ['config.json'], optionalFiles: [], checkpoints: ['diffusion_pytorch_model'] },
  unet: { files: ['config.json'], optionalFiles: [], checkpoints: ['diffusion_pytorch_model'] },
  text_encoder: { files: ['config.json'], optionalFiles: ['generation_config.json', 'preprocessor_config.json'], checkpoints: ['model'] },
  tokenizer: { files: ['tokenizer.json', 'tokenizer_config.json'], optionalFiles: ['chat_template.jinja', 'special_tokens_map.json', 'preprocessor_config.json'], checkpoints: [] },
  scheduler: { files: ['scheduler_config.json'], optionalFiles: [], checkpoints: [] },
} as const;
export type SdxsComponent = keyof typeof SDXS_COMPONENTS;
export const DEFAULT_MODEL = 'AiArtLab/sdxs-1b';

/**
 * A local folder holding one component: a local model folder passes through; a hub repo id downloads
 * (or finds in the cache) exactly the files that component needs.
 */
export async function resolveComponent(source: string, component: SdxsComponent, opts: HubDownloadOptions = {}): Promise<string> {
  const spec = SDXS_COMPONENTS[component];
  return resolveModelSource(source, {
    ...opts,
    subfolder: component,
    files: spec.files,
    optionalFiles: spec.optionalFiles,
    checkpoints: spec.checkpoints,
  });
}

/** The model root (with model_index.json). */
export async function resolveModelRoot(source: string, opts: HubDownloadOptions = {}): Promise<string> {
  return resolveModelSource(source, { ...opts, files: ['model_index.json'] });
}

/** Download every file of an SDXS model into the cache; returns the snapshot folder. */
export async function downloadModel(source: string, opts: HubDownloadOptions & { components?: readonly SdxsComponent[] } = {}): Promise<string> {
  const root = await resolveModelRoot(source, opts);
  for (const c of opts.components ?? (Object.keys(SDXS_COMPONENTS) as SdxsComponent[])) await resolveComponent(source, c, opts);
  return root;
}
