// Run by ort.test.ts under Bun: a compiled region and an eager op on ort-cpu, printed as JSON.
import * as C from '@sdxs/core';

await C.setBackend('ort-cpu');
const x = C.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
const w = C.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
const y = C.compile('bun', (x: C.Tensor, w: C.Tensor) => C.silu(C.matmul(x, w)))(x, w);
const z = C.add(y, 1);
console.log(JSON.stringify({ backend: C.getBackend(), y: Array.from(await z.data()) }));
