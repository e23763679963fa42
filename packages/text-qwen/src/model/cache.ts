/** Generation cache: KV for full-attention layers, conv + recurrent state for Gated DeltaNet layers. */
import * as C from '@sdxs/core';
import type { LayerState } from './decoder-layer.js';

export class Qwen35Cache {
  /** One entry per decoder layer; null before the first forward. */
  readonly layers: (LayerState | null)[];
  /** Tokens already processed. */
  pastLength = 0;

  /**
   * @param capacity keys/values are kept in fixed buffers of this many positions (written in place, masked
   *   beyond the tokens seen) instead of growing by concatenation: every decoding step then has the same
   *   shapes, so a graph backend (ort-*) compiles one graph for all of them. null: grow as needed.
   */
  constructor(numLayers: number, readonly capacity: number | null = null) {
    this.layers = new Array<LayerState | null>(numLayers).fill(null);
  }

  /** Replace a layer's state (the previous tensors are disposed; the new ones survive enclosing tidy scopes). */
  set(i: number, state: LayerState): void {
    const old = this.layers[i];
    for (const t of Object.values(state) as C.Tensor[]) C.keep(t);
    if (old) for (const t of Object.values(old) as C.Tensor[]) if (!Object.values(state).includes(t)) t.dispose();
    this.layers[i] = state;
  }

  /** Tensors held by the cache. */
  tensors(): C.Tensor[] {
    return this.layers.flatMap((s) => (s ? (Object.values(s) as C.Tensor[]) : []));
  }

  dispose(): void {
    for (const t of this.tensors()) t.dispose();
    this.layers.fill(null);
    this.pastLength = 0;
  }
}
