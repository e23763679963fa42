/** What the backends ask of the runtime they load in: Node/Bun or a browser, optional imports, software Vulkan. */

export const isNodeLike = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** Deno (which is node-like too: it has `process` and runs npm packages). */
export const isDeno = (): boolean => typeof (globalThis as { Deno?: { version?: { deno?: unknown } } }).Deno?.version?.deno === 'string';

/** Whether the runtime itself provides WebGPU (`navigator.gpu`): browsers and Deno, not Node or Bun. */
export const hasOwnWebgpu = (): boolean => !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu && (!isNodeLike() || isDeno());

/** Import by a computed name so bundlers and tsc do not require optional peers to be installed. */
export const importOptional = (name: string): Promise<unknown> => import(/* @vite-ignore */ name);

/** Whether VK_ICD_FILENAMES points Dawn at a software Vulkan driver (SwiftShader, lavapipe): `auto` tries such backends last. */
export function vulkanIsSoftware(): boolean {
  const icd = typeof process !== 'undefined' ? (process.env?.VK_ICD_FILENAMES ?? '') : '';
  return /swiftshader|lvp|lavapipe/i.test(icd);
}
