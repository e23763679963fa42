/** The element types the safetensors format defines, their sizes and the typed arrays they read into. */

export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/**
 * Every dtype, in the order of the reference implementation's dtype enum. The Python library sorts the
 * tensors of a file it writes by this order, largest first, then by name.
 */
export const SAFETENSORS_DTYPES: readonly SafetensorsDType[] = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
];

/** The typed array a tensor of each dtype is read into (F16/BF16 as raw bits, F8 and BOOL as bytes). */
export type SafetensorsTypedArray =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

type TypedArrayConstructor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor;

const ARRAY_OF: Record<SafetensorsDType, TypedArrayConstructor> = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  F8_E5M2: Uint8Array,
  F8_E4M3: Uint8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
};

export function isSafetensorsDType(x: unknown): x is SafetensorsDType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(ARRAY_OF, x);
}

/** Bytes per element. */
export function safetensorsItemSize(dtype: SafetensorsDType): number {
  return ARRAY_OF[dtype].BYTES_PER_ELEMENT;
}

/** The typed array class that holds elements of `dtype`. */
export function safetensorsArrayType(dtype: SafetensorsDType): TypedArrayConstructor {
  return ARRAY_OF[dtype];
}

/** Position of `dtype` in the reference dtype order (see SAFETENSORS_DTYPES). */
export function safetensorsDTypeRank(dtype: SafetensorsDType): number {
  return SAFETENSORS_DTYPES.indexOf(dtype);
}

/** Wraps little-endian element bytes that start at offset 0 of their own ArrayBuffer. */
export function viewAsSafetensorsArray(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsTypedArray {
  const Ctor = ARRAY_OF[dtype];
  if (Ctor === Uint8Array) return bytes;
  const size = Ctor.BYTES_PER_ELEMENT;
  let buf = bytes.buffer as ArrayBuffer;
  let off = bytes.byteOffset;
  if (off % size !== 0) {
    buf = bytes.slice().buffer as ArrayBuffer;
    off = 0;
  }
  const arr = new Ctor(buf, off, bytes.byteLength / size);
  if (!LITTLE_ENDIAN && size > 1) swapBytes(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), size);
  return arr;
}

/** True on little-endian hosts (all current browsers and Node platforms). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses each `size`-byte group in place (big-endian hosts only). */
export function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i + size <= b.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = b[a]!;
      b[a] = b[z]!;
      b[z] = t;
    }
  }
}
