import { DTypeError } from './errors.js';

/** Compute dtypes run on every backend; storage dtypes hold weights and are cast to float32 to compute. */
export type ComputeDType = 'float32' | 'int32';
export type StorageDType = 'float16' | 'bfloat16';
export type DType = ComputeDType | StorageDType;

export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : Uint16Array;
export type DataArray = Float32Array | Int32Array | Uint16Array;

export function isStorageDType(d: DType): d is StorageDType {
  return d === 'float16' || d === 'bfloat16';
}

export function bytesPerElement(d: DType): number {
  return d === 'float32' || d === 'int32' ? 4 : 2;
}

export function allocArray(d: DType, size: number): DataArray {
  switch (d) {
    case 'float32':
      return new Float32Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(size);
    default:
      throw new DTypeError(`unknown dtype '${String(d)}'`);
  }
}

export function checkArrayDType(d: DType, data: DataArray): void {
  const ok =
    (d === 'float32' && data instanceof Float32Array) ||
    (d === 'int32' && data instanceof Int32Array) ||
    (isStorageDType(d) && data instanceof Uint16Array);
  if (!ok) throw new DTypeError(`a ${data.constructor.name} cannot hold dtype '${d}'`);
}
