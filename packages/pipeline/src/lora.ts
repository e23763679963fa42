/**
 * The pipeline's LoRA bookkeeping. A file may hold UNet and text-encoder keys; each part gets its own keys.
 * Components load lazily and may be released and reloaded (the text encoder is freed after encoding by
 * default), so every loaded adapter, the chosen weights and the fuse scale are remembered and re-applied
 * to a component whenever it is (re)loaded.
 */
import * as C from '@sdxs/core';

/** What a component must offer (UNet2DConditionModel and Qwen35TextModel do). */
export interface LoraTarget {
  loadLoraWeights(source: string | C.nn.OpenedLora, opts: Omit<C.nn.LoadLoraOptions, 'component' | 'modulePrefixes'>): Promise<C.nn.LoraLoadReport>;
  setAdapters(names: readonly string[], weights: readonly number[]): void;
  fuseLora(opts: { scale?: number }): Promise<void>;
  unfuseLora(): void;
  unloadLoraWeights(names?: readonly string[]): void;
}

type Part = 'unet' | 'text_encoder';

interface Entry {
  source: string;
  weightName: string | undefined;
  name: string;
  parts: Set<Part>;
}

export interface PipelineLoraOptions {
  /** name to address the adapter by (default `default_<n>`) */
  adapterName?: string;
  /** file inside a folder or hub repo */
  weightName?: string;
  /** its weight (default 1) */
  weight?: number;
}

export class PipelineLoras {
  private readonly entries: Entry[] = [];
  private weights: Map<string, number> | null = null;
  private fusedScale: number | null = null;

  get names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /**
   * Open the file, decide which parts it has keys for, and load the UNet part now (`unet` returns the loaded
   * UNet or null when it is not loaded yet) — the text part is applied when the text encoder loads.
   */
  async add(source: string, opts: PipelineLoraOptions, hub: C.nn.LoraSourceOptions, loaded: (part: Part) => Promise<LoraTarget | null>): Promise<string> {
    const name = opts.adapterName ?? `default_${this.entries.length}`;
    if (this.names.includes(name)) throw new C.InputError(`an adapter named '${name}' is already loaded; unload it first or pass another adapterName`);
    if (opts.weight !== undefined && !Number.isFinite(opts.weight)) throw new C.InputError(`${source}: the adapter weight must be a finite number, got ${opts.weight}`);
    const opened = await C.nn.openLora(source, { ...hub, weightName: opts.weightName });
    const parts = new Set<Part>();
    try {
      if (opened.file.names().length === 0) throw new C.CheckpointError(`${opened.file.file}: the LoRA file holds no tensors (an empty LoRA changes nothing)`);
      for (const k of opened.file.names()) {
        const p = C.nn.parseLoraKey(k);
        parts.add('problem' in p || p.component !== 'text_encoder' ? 'unet' : 'text_encoder');
      }
      const entry: Entry = { source, weightName: opts.weightName, name, parts };
      for (const part of parts) {
        const model = await loaded(part);
        if (model) await this.applyEntry(model, part, entry, opened);
      }
      this.entries.push(entry);
      if (opts.weight !== undefined || this.weights) {
        this.weights ??= new Map(this.entries.slice(0, -1).map((e) => [e.name, 1]));
        this.weights.set(name, opts.weight ?? 1);
        for (const part of parts) {
          const model = await loaded(part);
          if (model) this.applyWeights(model, part);
        }
      }
    } finally {
      await opened.file.close();
    }
    return name;
  }

  private async applyEntry(model: LoraTarget, part: Part, e: Entry, opened?: C.nn.OpenedLora): Promise<void> {
    await model.loadLoraWeights(opened ?? e.source, {
      adapterName: e.name,
      weightName: e.weightName,
      otherComponents: 'ignore',
      claimUnprefixed: part === 'unet',
    });
  }

  private applyWeights(model: LoraTarget, part: Part): void {
    if (!this.weights) return;
    const mine = [...this.weights].filter(([n]) => this.entries.some((e) => e.name === n && e.parts.has(part)));
    model.setAdapters(
      mine.map(([n]) => n),
      mine.map(([, w]) => w),
    );
  }

  /** Re-apply everything to a freshly loaded component. */
  async restore(model: LoraTarget, part: Part): Promise<void> {
    for (const e of this.entries) if (e.parts.has(part)) await this.applyEntry(model, part, e);
    this.applyWeights(model, part);
    if (this.fusedScale !== null) await model.fuseLora({ scale: this.fusedScale });
  }

  setAdapters(names: string | readonly string[], weights: number | readonly number[] | undefined, models: [LoraTarget | null, Part][]): void {
    const list = typeof names === 'string' ? [names] : [...names];
    const w = weights === undefined ? list.map(() => 1) : typeof weights === 'number' ? list.map(() => weights) : [...weights];
    if (w.length !== list.length) throw new C.InputError(`setAdapters: ${list.length} names but ${w.length} weights`);
    const bad = w.find((x) => !Number.isFinite(x));
    if (bad !== undefined) throw new C.InputError(`setAdapters: adapter weights must be finite numbers, got ${bad}`);
    const unknown = list.filter((n) => !this.names.includes(n));
    if (unknown.length) throw new C.InputError(`setAdapters: no adapter named ${unknown.map((n) => `'${n}'`).join(', ')}; loaded: ${this.names.join(', ') || 'none'}`);
    this.weights = new Map(list.map((n, i) => [n, w[i]!]));
    for (const [m, part] of models) if (m) this.applyWeights(m, part);
  }

  async fuse(scale: number, models: [LoraTarget | null, Part][]): Promise<void> {
    for (const [m] of models) await m?.fuseLora({ scale });
    this.fusedScale = scale;
  }

  unfuse(models: [LoraTarget | null, Part][]): void {
    for (const [m] of models) m?.unfuseLora();
    this.fusedScale = null;
  }

  unload(names: string | readonly string[] | undefined, models: [LoraTarget | null, Part][]): void {
    const list = names === undefined ? this.names : typeof names === 'string' ? [names] : [...names];
    for (const [m, part] of models) {
      const mine = list.filter((n) => this.entries.some((e) => e.name === n && e.parts.has(part)));
      if (m && mine.length) m.unloadLoraWeights(mine);
    }
    for (const n of list) {
      const i = this.entries.findIndex((e) => e.name === n);
      if (i >= 0) this.entries.splice(i, 1);
      this.weights?.delete(n);
    }
    if (this.entries.length === 0) {
      this.weights = null;
      this.fusedScale = null;
    }
  }
}
