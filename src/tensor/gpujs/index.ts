/**
 * The GPU.js backend: every kernel of the contract as a generated GPU.js kernel, compiled once per
 * (op, shape) and cached. On the GL modes buffers are textures that stay on the device between
 * ops (`pipeline` + `immutable`), and `dispose` deletes them; on cpu/webasm they are Float32Arrays.
 *
 * This folder is the only code that imports `gpu.js`.
 */
import type { IKernelRunShortcut, Texture } from 'gpu.js';
import { type Backend, type FloatArray, type Handle, matmulOutputSize } from '../backend.ts';
import { kernels, maxConcatInputs, type KernelSpec } from './kernels.ts';
import {
  checkKernelMode, gpuJsModes, isGlMode, openGpu, runsHeadlessGl, type GpuJsMode,
} from './modes.ts';
import { recycleTextureNames } from './texture-pool.ts';

export { GpuJsModeError, gpuJsModes, type GpuJsMode } from './modes.ts';

export interface GpuJsBackend extends Backend {
  readonly mode: GpuJsMode;
  /** Kernels compiled so far: one per op and shape. */
  cachedKernels(): number;
  /** Releases every kernel and the GL context; the backend must not be used afterwards. */
  destroy(): void;
}

/** What a handle really is: a device texture on GL modes, else (and for empty buffers) an array. */
type Store = Float32Array | Texture;

/** GL index math runs in float32: integers are exact below 2^24. */
export const maxGlElements = 2 ** 24;

export class GpuJsSizeError extends Error {
  constructor(backend: string, what: string, size: number) {
    super(`${backend}: ${what} has ${size} elements; GL kernels index in float32 and need fewer than ${maxGlElements}`);
    this.name = 'GpuJsSizeError';
  }
}

const product = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);

export function createGpuJsBackend(mode: GpuJsMode): GpuJsBackend {
  const gpu = openGpu(mode);
  const gl = isGlMode(mode);
  const name = `gpujs-${mode}`;
  const k = kernels({ gl });
  const cache = new Map<string, IKernelRunShortcut>();
  /** Live buffers and their sizes: what `liveBuffers` counts and kernel keys are built from. */
  const live = new Map<Store, number>();
  /** Set once the GL context exists (with the first kernel), on headless-gl only. */
  let releaseTexturePool: (() => void) | null = null;

  const own = (s: Store, size: number): Handle => {
    live.set(s, size);
    return s as unknown as Handle;
  };
  const store = (h: Handle): Store => {
    const s = h as unknown as Store;
    if (!live.has(s)) throw new Error(`${name}: handle is disposed or belongs to another backend`);
    return s;
  };
  const empty = (): Handle => own(new Float32Array(0), 0);

  /** Runs `spec` on raw inputs (sizes given), compiling and caching the kernel on first use. */
  const launch = (spec: KernelSpec, args: readonly Store[], sizes: readonly number[],
    scalars: readonly number[]): Store => {
    if (gl) {
      if (spec.size >= maxGlElements) throw new GpuJsSizeError(name, `output of ${spec.key}`, spec.size);
      sizes.forEach((n) => { if (n >= maxGlElements) throw new GpuJsSizeError(name, `input of ${spec.key}`, n); });
    }
    // Input sizes are part of the key: GL kernels bake each input's texture size into the shader.
    const key = `${spec.key}|${sizes.join(',')}`;
    let kernel = cache.get(key);
    const fresh = kernel === undefined;
    if (kernel === undefined) {
      const { source, constants } = spec.make();
      kernel = gpu.createKernel(source, {
        output: [spec.size], constants, precision: 'single', pipeline: gl, immutable: gl,
        ...(gl ? { tactic: 'precision' as const } : {}),
      });
      cache.set(key, kernel);
      if (!releaseTexturePool && runsHeadlessGl(gpu) && gpu.context) {
        releaseTexturePool = recycleTextureNames(gpu.context as Parameters<typeof recycleTextureNames>[0]);
      }
    }
    const out = kernel(...(args as never[]), ...scalars) as unknown as Store;
    if (fresh) {
      try {
        checkKernelMode(mode, kernel, spec.key);
      } catch (e) {
        cache.delete(key);
        throw e;
      }
    }
    return out;
  };

  /** Runs `spec` on live handles and owns the output. */
  const run = (spec: KernelSpec, inputs: readonly Handle[], scalars: readonly number[] = []): Handle => {
    if (spec.size === 0) return empty();
    const args = inputs.map(store);
    return own(launch(spec, args, args.map((a) => live.get(a) as number), scalars), spec.size);
  };

  const upload = (data: Float32Array): Handle => {
    if (data.length === 0) return empty();
    if (!gl) return own(data, data.length);
    return own(launch(k.upload(data.length), [data], [data.length], []), data.length);
  };
  const fill = (size: number, value: number): Handle => upload(new Float32Array(size).fill(value));

  const backend: GpuJsBackend = {
    name,
    mode,

    // GL uploads straight from a Float32Array (the texture is the copy); elsewhere the array is the buffer.
    write: (data: FloatArray) => upload(gl && data instanceof Float32Array ? data : Float32Array.from(data)),

    read(h, size) {
      const s = store(h);
      const n = live.get(s) as number;
      if (size > n) throw new Error(`${name}: read of ${size} elements from a buffer of ${n}`);
      if (s instanceof Float32Array) return s.slice(0, size);
      const arr = s.toArray();
      if (!(arr instanceof Float32Array)) return Float32Array.from((arr as number[]).flat(2) as number[]).slice(0, size);
      return arr.length === size && arr.byteOffset === 0 && arr.buffer.byteLength === 4 * size ? arr : arr.slice(0, size);
    },

    dispose(h) {
      const s = store(h);
      live.delete(s);
      if (!(s instanceof Float32Array)) s.delete();
    },

    liveBuffers: () => live.size,

    unary: (op, x, size) => run(k.unary(op, size), [x]),

    binary: (op, a, b, outShape, aStrides, bStrides) =>
      run(k.binary(op, outShape, aStrides, bStrides), [a, b]),

    where: (cond, a, b, size) => run(k.where(size), [cond, a, b]),

    reduceAxis(op, x, outer, size, inner) {
      if (outer * inner === 0) return empty();
      if (!(size >= 1)) throw new RangeError(`reduceAxis: size ${size} must be ≥ 1`);
      return run(k.reduceAxis(op, outer, size, inner), [x]);
    },

    reduceLast(op, x, outer, inner) {
      if (outer === 0) return empty();
      if (inner === 0) return fill(outer, op === 'sum' ? 0 : -Infinity);
      return run(k.reduceLast(op, outer, inner), [x]);
    },

    matmul(a, b, spec) {
      const size = matmulOutputSize(spec);
      if (size > 0 && (spec.k === 0 || spec.batch === 0)) return fill(size, 0);
      return run(k.matmul(spec), [a, b]);
    },

    strided: (x, outShape, strides, offset) => run(k.strided(outShape, strides, offset), [x]),

    pad(x, shape, before, after, value) {
      const spec = k.pad(shape, before, after);
      if (spec.size > 0 && product(shape) === 0) return fill(spec.size, value);
      return run(spec, [x], [value]);
    },

    concat(xs, outer, inners) {
      const parts = xs.map((x, j) => ({ x, w: inners[j] })).filter((p) => p.w > 0);
      const width = parts.reduce((s, p) => s + p.w, 0);
      if (outer * width === 0) return empty();
      // Chain in chunks so a kernel never takes more than maxConcatInputs textures.
      type Part = { x: Handle; w: number };
      let acc: Part | null = null;
      let rest: Part[] = parts;
      do {
        const chunk: Part[] = [...(acc ? [acc] : []), ...rest.slice(0, maxConcatInputs - (acc ? 1 : 0))];
        rest = rest.slice(chunk.length - (acc ? 1 : 0));
        const out = run(k.concat(outer, chunk.map((p) => p.w)), chunk.map((p) => p.x));
        if (acc) backend.dispose(acc.x);
        acc = { x: out, w: chunk.reduce((s, p) => s + p.w, 0) };
      } while (rest.length > 0);
      return acc.x;
    },

    gather: (x, indices, outer, axisSize, inner, nIdx) =>
      run(k.gather(outer, axisSize, inner, nIdx), [x, indices]),

    scatterAdd(g, indices, outer, nIdx, inner, axisSize) {
      const size = outer * axisSize * inner;
      if (size > 0 && nIdx === 0) return fill(size, 0);
      return run(k.scatterAdd(outer, nIdx, inner, axisSize), [g, indices]);
    },

    im2col(x, spec, padValue) {
      const ks = k.im2col(spec);
      if (ks.size > 0 && spec.n * spec.c * spec.h * spec.w === 0) return fill(ks.size, padValue);
      return run(ks, [x], [padValue]);
    },

    col2im(cols, spec) {
      const ks = k.col2im(spec);
      if (ks.size > 0 && spec.kh * spec.kw * spec.oh * spec.ow === 0) return fill(ks.size, 0);
      return run(ks, [cols]);
    },

    cachedKernels: () => cache.size,

    destroy() {
      for (const s of live.keys()) if (!(s instanceof Float32Array)) s.delete();
      live.clear();
      cache.clear();
      releaseTexturePool?.();
      void gpu.destroy().catch(() => undefined);
    },
  };
  return backend;
}

let probed: GpuJsMode[] | null = null;

/** Whether `mode` opens and computes a tiny kernel correctly here. */
const works = (mode: GpuJsMode): boolean => {
  let b: GpuJsBackend | null = null;
  try {
    b = createGpuJsBackend(mode);
    const x = b.write(Float32Array.of(1, -2));
    const y = b.unary('neg', x, 2);
    const r = b.read(y, 2);
    return r.length === 2 && r[0] === -1 && r[1] === 2;
  } catch {
    return false;
  } finally {
    b?.destroy();
  }
};

/** The modes that really work in this process (probed once, then cached). */
export function availableGpuJsModes(): GpuJsMode[] {
  probed ??= gpuJsModes.filter(works);
  return [...probed];
}
