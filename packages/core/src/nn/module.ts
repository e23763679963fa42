import { CheckpointError } from '../errors.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { Parameter } from './parameter.js';

/**
 * Base of every model part. Fields that hold a Parameter or a Module are its state: their field
 * names are the checkpoint keys, so `namedParameters()` yields PyTorch's dotted `state_dict` names.
 */
export class Module {
  /** Fields that are not state (config objects, caches) can be listed here to be skipped. */
  protected static readonly nonState: readonly string[] = [];

  /** Children in declaration order: [name, Module | Parameter]. */
  protected children(): [string, Module | Parameter][] {
    const out: [string, Module | Parameter][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module || v instanceof Parameter) out.push([k, v]);
    }
    return out;
  }

  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [k, v] of this.children()) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (v instanceof Parameter) out.push([name, v]);
      else out.push(...v.namedParameters(name));
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [k, v] of this.children()) if (v instanceof Module) out.push(...v.namedModules(prefix ? `${prefix}.${k}` : k));
    return out;
  }

  /** name → tensor for every loaded parameter. */
  stateDict(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    for (const [k, p] of this.namedParameters()) if (p.isSet) m.set(k, p.value);
    return m;
  }

  /** Number of scalar parameters. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Bytes held by loaded parameters (in their storage dtype). */
  parameterBytes(): number {
    return this.parameters().reduce((s, p) => s + (p.isSet ? p.value.bytes : 0), 0);
  }

  /**
   * Set parameters from a name → tensor map. Strict by default: every missing, unexpected and
   * mis-shaped tensor is reported in one CheckpointError. Tensors are taken over (not copied).
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean; source?: string } = {}): void {
    const entries = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const params = new Map(this.namedParameters());
    const problems = checkKeys(
      params,
      [...entries].map(([k, t]) => [k, t.shape] as const),
      opts.strict ?? true,
    );
    if (problems) throw new CheckpointError(`${opts.source ?? 'state dict'}: ${problems}`);
    for (const [k, t] of entries) params.get(k)?.set(t);
  }

  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

/** Compare a module's parameters with a checkpoint's names and shapes; a report or null. */
export function checkKeys(
  params: Map<string, Parameter>,
  entries: readonly (readonly [string, readonly number[]])[],
  strict: boolean,
): string | null {
  const missing: string[] = [];
  const unexpected: string[] = [];
  const mismatched: string[] = [];
  const seen = new Set<string>();
  for (const [k, shape] of entries) {
    seen.add(k);
    const p = params.get(k);
    if (!p) {
      unexpected.push(k);
      continue;
    }
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
      mismatched.push(`${k}: checkpoint ${fmtShape(shape)} vs model ${fmtShape(p.shape)}`);
    }
  }
  for (const k of params.keys()) if (!seen.has(k)) missing.push(k);
  const parts: string[] = [];
  if (mismatched.length) parts.push(`${mismatched.length} mis-shaped: ${mismatched.join('; ')}`);
  if (strict && missing.length) parts.push(`${missing.length} missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''}`);
  if (strict && unexpected.length) parts.push(`${unexpected.length} unexpected: ${unexpected.slice(0, 20).join(', ')}${unexpected.length > 20 ? ', ...' : ''}`);
  return parts.length ? parts.join(' | ') : null;
}

/** An indexed list of modules (PyTorch ModuleList); null slots keep their index (e.g. Dropout in `to_out.1`). */
export class ModuleList<T extends Module = Module> extends Module {
  readonly items: (T | null)[];
  constructor(items: (T | null)[]) {
    super();
    this.items = items;
  }
  protected override children(): [string, Module | Parameter][] {
    const out: [string, Module | Parameter][] = [];
    this.items.forEach((m, i) => {
      if (m) out.push([String(i), m]);
    });
    return out;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): T {
    const m = this.items[i];
    if (!m) throw new CheckpointError(`ModuleList has no module at index ${i}`);
    return m;
  }
  [Symbol.iterator](): Iterator<T> {
    return (this.items.filter((m) => m !== null) as T[])[Symbol.iterator]();
  }
}
