/** Making tensors from host values. */
import { getBackend } from '../tensor/engine.ts';
import type { Backend } from '../tensor/backend.ts';
import { fromHandle, type Tensor } from '../tensor/tensor.ts';
import { assertValidShape, type Shape, ShapeError, sizeOf } from '../tensor/shape.ts';

const toFloats = (b: Backend, data: ArrayLike<number>): Float32Array | Float64Array =>
  b.name === 'plain64' ? Float64Array.from(data) : data instanceof Float32Array ? data : Float32Array.from(data);

/** A tensor holding a copy of `data` (row-major) with the given shape. */
export const tensor = (data: ArrayLike<number>, shape: Shape = [data.length], backend: Backend = getBackend()): Tensor => {
  assertValidShape('tensor', shape);
  if (data.length !== sizeOf(shape)) {
    throw new ShapeError('tensor', [shape], `${data.length} values do not fill the shape (${sizeOf(shape)} elements)`);
  }
  return fromHandle(backend, backend.write(toFloats(backend, data)), shape);
};

export const full = (shape: Shape, value: number, backend: Backend = getBackend()): Tensor => {
  assertValidShape('full', shape);
  const data = backend.name === 'plain64' ? new Float64Array(sizeOf(shape)) : new Float32Array(sizeOf(shape));
  data.fill(value);
  return fromHandle(backend, backend.write(data), shape);
};

export const zeros = (shape: Shape, backend?: Backend): Tensor => full(shape, 0, backend);
export const ones = (shape: Shape, backend?: Backend): Tensor => full(shape, 1, backend);
export const scalar = (value: number, backend?: Backend): Tensor => full([], value, backend);

/** [start, start + step, …) below `stop`. */
export const arange = (start: number, stop: number, step = 1, backend?: Backend): Tensor => {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  return tensor(Array.from({ length: n }, (_, i) => start + i * step), [n], backend);
};

/** Copies a tensor's values to another backend. */
export const toBackend = (t: Tensor, backend: Backend): Tensor =>
  tensor(t.backend.read(t.storage.handle, t.size), t.shape, backend);
