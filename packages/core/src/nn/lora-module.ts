/**
 * The LoRA methods every model that takes adapters has (diffusers' `load_lora_weights`, `set_adapters`,
 * `fuse_lora`, `unfuse_lora`, `unload_lora_weights`, `get_list_adapters`), written once: a model extends
 * LoraModule instead of Module and says which part of a pipeline file it is.
 */
import { Module } from './module.js';
import {
  fuseLora,
  loadLora,
  loraAdapterNames,
  setLoraAdapters,
  unfuseLora,
  unloadLora,
  type LoadLoraOptions,
  type LoraComponent,
  type LoraLoadReport,
  type OpenedLora,
} from '../loaders/lora/load.js';

/** Which keys of a LoRA file are a model's: its component, and the module prefixes its keys may carry. */
export interface LoraTarget {
  component: LoraComponent;
  /** module path prefixes to strip before matching (default: none) */
  modulePrefixes?: readonly string[];
}

/** Options of `loadLoraWeights` (the model decides its component and prefixes). */
export type ModelLoraOptions = Omit<LoadLoraOptions, 'component' | 'modulePrefixes'>;

export abstract class LoraModule extends Module {
  /** The component and module prefixes of this model's keys in a LoRA file. */
  protected abstract get loraTarget(): LoraTarget;

  /**
   * Load a LoRA (diffusers/PEFT or kohya keys) from a `.safetensors` file, a folder, a URL or a hub repo id
   * (`weightName` picks the file). Keys of another component in the same file are an error unless
   * `otherComponents: 'ignore'` (the pipeline splits such files). The report names the adapter.
   */
  loadLoraWeights(source: string | OpenedLora, opts: ModelLoraOptions = {}): Promise<LoraLoadReport> {
    return loadLora(this, source, { ...opts, ...this.loraTarget });
  }
  /** Active adapters and their weights (others stay loaded but do nothing). */
  setAdapters(names: string | readonly string[], weights?: number | readonly number[]): void {
    setLoraAdapters(this, names, weights);
  }
  /** Merge the active adapters into the weights (W + scale · Σ w·alpha/r · B A); the bases are kept for `unfuseLora`. */
  fuseLora(opts: { scale?: number } = {}): Promise<void> {
    return fuseLora(this, opts);
  }
  /** Put back the exact base weights. */
  unfuseLora(): void {
    unfuseLora(this);
  }
  /** Remove adapters (all when no name is given). */
  unloadLoraWeights(names?: string | readonly string[]): void {
    unloadLora(this, names);
  }
  /** Names of the loaded adapters. */
  get loraAdapters(): string[] {
    return loraAdapterNames(this);
  }
}
