/** `--lora <source>[:<weight>]` (repeatable): a LoRA file, folder, URL or `owner/repo[/file.safetensors]`. */
import { existsSync } from 'node:fs';
import type { SdxsPipeline } from '@sdxs/pipeline';
import { UsageError } from './cli-error.js';

/** The --help text of --lora (its value: `<src[:w]>`). */
export const LORA_HELP = `apply a LoRA (diffusers/PEFT or kohya .safetensors; a file, folder, URL, hub repo
'owner/name' or 'owner/name/file.safetensors') at weight w (default 1); repeatable`;

export interface LoraArg {
  source: string;
  weightName: string | undefined;
  weight: number;
}

/** Parse the --lora values: the weight is a number after the last ':' (so 'C:\\x.safetensors' keeps its drive). */
export function loraArgs(command: string, values: readonly string[] | undefined): LoraArg[] {
  return (values ?? []).map((v) => {
    const m = /^(.+):([^:\\/]*)$/.exec(v);
    let source = v;
    let weight = 1;
    if (m && !/^[A-Za-z]$/.test(m[1]!) && !/^https?$/i.test(m[1]!)) {
      const w = Number(m[2]);
      if (m[2] === '' || !Number.isFinite(w)) throw new UsageError(`sdxs ${command}: --lora '${v}': the weight after ':' must be a number`);
      [source, weight] = [m[1]!, w];
    }
    if (!source) throw new UsageError(`sdxs ${command}: --lora needs a file, folder or repo`);
    const repoFile = /^([\w.-]+\/[\w.-]+)\/(.+\.safetensors)$/.exec(source);
    if (repoFile && !existsSync(source)) return { source: repoFile[1]!, weightName: repoFile[2]!, weight };
    return { source, weightName: undefined, weight };
  });
}

/** Load each LoRA into the pipeline as adapter `lora_<i>` at its weight. */
export async function applyLoras(pipe: SdxsPipeline, loras: readonly LoraArg[]): Promise<void> {
  for (const [i, l] of loras.entries()) await pipe.loadLoraWeights(l.source, { adapterName: `lora_${i}`, weightName: l.weightName, weight: l.weight });
}
