/**
 * A network's state dict (PyTorch names, src/layers/state-dict.ts) to and from safetensors entries:
 * what a checkpoint, an exported model and the shipped classifier all store. It sits above layers
 * and below train and eval, so that both read and write weights the same way and neither
 * borrows it from the other.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Backend } from '../tensor/backend.ts';
import { toFloat32 } from '../tensor/tensor.ts';
import { tensor } from '../ops/create.ts';
import type { Entry, Tensors } from '../io/safetensors.ts';
import { FormatError } from '../codec/errors.ts';
import { isInt64, type StateDictEntry } from '../layers/state-dict.ts';

export const entriesToSafetensors = (entries: readonly StateDictEntry[]): Tensors => {
  const out: Record<string, Entry> = Object.create(null);
  for (const [name, v] of entries) {
    out[name] = isInt64(v)
      ? { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(v.int64)) }
      : { dtype: 'F32', shape: [...v.shape], data: toFloat32(v) };
  }
  return out;
};

/** Safetensors entries as state-dict entries on a backend (float dtypes become float32 tensors; int64 scalars stay integers). */
export const safetensorsToEntries = (tensors: Tensors, backend?: Backend): E.Either<FormatError, StateDictEntry[]> => {
  const out: StateDictEntry[] = [];
  for (const [name, e] of Object.entries(tensors)) {
    if (e.dtype === 'I64' && e.shape.length === 0) out.push([name, { int64: Number((e.data as BigInt64Array)[0]) }]);
    else if (e.dtype === 'F32' || e.dtype === 'F64' || e.dtype === 'F16' || e.dtype === 'BF16') {
      out.push([name, tensor(e.data as Float32Array | Float64Array, e.shape, backend)]);
    } else return E.left(new FormatError('checkpoint', [name], `dtype ${e.dtype} is not a float tensor or an int64 scalar`));
  }
  return E.right(out);
};
