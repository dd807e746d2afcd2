/**
 * The baseline of the op benchmarks: the same four cases as ops.ts on tfjs-backend-wasm (XNNPACK),
 * a devDependency of the benchmarks only. bench.ts runs this file in a child process per thread
 * count (`tsx scripts/bench/tfjs.ts --threads N --min-seconds S`, one JSON array of rows on stdout),
 * because the wasm module is a process-wide singleton whose build (SIMD / threaded SIMD) and thread
 * count are fixed when it first initialises, and because the threaded build needs the patches below.
 *
 * One thread: tfjs's own choice under Node, the SIMD build without threads.
 * More threads: tfjs switches its threaded build off under Node (WASM_HAS_MULTITHREAD_SUPPORT is
 * hard-wired false there, tensorflow/tfjs#3830). We force it on; for it to load, three things are
 * worked around while the backend initialises: its pthread worker script is a blob: URL, which Node
 * workers cannot load, so it is written to a temporary file; the module source the workers import
 * is a Blob too, so it is written next to it (with the bundle's top-level requires it closes over);
 * and the XNNPACK pool is capped at logical cores / 2 (it assumes SMT), so os.cpus() is reported
 * doubled while the pool is made, to get the asked-for count. The count actually in use is read back
 * with getThreadsCount().
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { type BenchResult, timeMedian } from './harness.ts';
import { benchTfjsCommand } from '../../src/cli/commands.ts';
import { cli } from '../../src/cli/cli.ts';

const require = createRequire(import.meta.url);
const wasmVersion = (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;

export interface TfjsSetup {
  readonly threads: number;
  readonly simd: boolean;
  readonly multithread: boolean;
  readonly note: string;
}

/**
 * Initialises tfjs-backend-wasm in this process with `threads` XNNPACK threads: the SIMD build for
 * one (unless `threaded`), the threaded-SIMD build for more.
 */
export const initTfjsWasm = async (threads: number, opts: { threaded?: boolean } = {}): Promise<TfjsSetup> => {
  // the .wasm binaries load from the installed package, by file path: no network
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  setThreadsCount(threads);
  const threaded = threads > 1 || opts.threaded === true;
  const restore: (() => void)[] = [];
  let tmp: string | undefined;
  if (threaded) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    tmp = mkdtempSync(join(os.tmpdir(), 'tfjs-wasm-'));
    const dir = tmp;
    const texts = new WeakMap<Blob, string>();
    let moduleScript: string | undefined;
    const OrigBlob = globalThis.Blob;
    class RecordingBlob extends OrigBlob {
      constructor(parts: BlobPart[] = [], opts?: BlobPropertyBag) {
        super(parts, opts);
        const text = parts.map(String).join('');
        texts.set(this, text);
        if (text.startsWith('var WasmBackendModuleThreadedSimd')) {
          moduleScript = join(dir, 'module.cjs');
          // the factory's source refers to the requires at the top of tf-backend-wasm.node.js
          writeFileSync(moduleScript, "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), require$$4 = require('os'), commonjsGlobal = globalThis;\n" + text);
        }
      }
    }
    const origCreate = URL.createObjectURL;
    const origCpus = os.cpus;
    globalThis.Blob = RecordingBlob;
    URL.createObjectURL = (b: Blob): string => {
      const text = texts.get(b);
      if (text === undefined || moduleScript === undefined) return origCreate(b);
      const fixed = text
        .replace('typeof e.data.urlOrBlob=="string"', 'true')
        .replace('importScripts(e.data.urlOrBlob)', `importScripts(${JSON.stringify(moduleScript)})`);
      if (fixed === text) throw new Error('tfjs-backend-wasm: its pthread worker script is not the one these patches expect');
      const path = join(dir, 'worker.cjs');
      writeFileSync(path, fixed);
      return path;
    };
    os.cpus = () => [...origCpus(), ...origCpus()];
    restore.push(() => {
      globalThis.Blob = OrigBlob;
      URL.createObjectURL = origCreate;
      os.cpus = origCpus;
    });
  }
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not initialise (see the warnings above)');
    await tf.ready();
  } finally {
    restore.forEach((f) => f());
    // the workers have read both scripts once the backend is up
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean;
  const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') as boolean;
  const actual = getThreadsCount();
  const build = simd && multithread ? 'threaded-SIMD' : simd ? 'SIMD' : 'plain (no SIMD)';
  const note = `tfjs-backend-wasm ${wasmVersion}, ${build} build, WASM_HAS_SIMD_SUPPORT ${simd}, WASM_HAS_MULTITHREAD_SUPPORT ${multithread}`
    + (threaded ? ' (forced on: tfjs turns threads off under Node; see scripts/bench/tfjs.ts)' : ' (tfjs\'s default under Node)')
    + `, XNNPACK pool of ${actual} thread${actual > 1 ? 's' : ''}`;
  return { threads: actual, simd, multithread, note };
};

const gflops = (flops: number, seconds: number): number => flops / seconds / 1e9;

/** The four op cases of ops.ts (same names, so the rows line up) on the initialised wasm backend. */
export const tfjsOpBenchmarks = (setup: TfjsSetup, minSeconds = 1): BenchResult[] => {
  const backend = 'tfjs-wasm';
  const { threads } = setup;
  const out: BenchResult[] = [];
  const run = (fn: () => tf.Tensor | tf.Tensor[]): number => timeMedian(() => tf.tidy(() => {
    const r = fn();
    for (const t of Array.isArray(r) ? r : [r]) t.dataSync();
  }), { minSeconds });
  const record = (name: string, flops: number, fn: () => tf.Tensor | tf.Tensor[], note = setup.note): number => {
    const s = run(fn);
    out.push({ name, backend, threads, value: +gflops(flops, s).toFixed(3), unit: 'GFLOP/s', seconds: +s.toFixed(5), note });
    return s;
  };
  tf.randomNormal([1]).dispose();

  const a = tf.randomNormal([256, 1152], 0, 1, 'float32', 1);
  const b = tf.randomNormal([1152, 784], 0, 1, 'float32', 2);
  record('matmul 256x1152·1152x784', 2 * 256 * 1152 * 784, () => tf.matMul(a, b));
  const c = tf.randomNormal([512, 512], 0, 1, 'float32', 3);
  record('matmul 512³', 2 * 512 ** 3, () => tf.matMul(c, c));

  // the wasm conv2d is NHWC only: the same convolution laid out channels-last, same FLOPs
  const x = tf.randomNormal([64, 28, 28, 32], 0, 1, 'float32', 4) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 32, 32], 0, 0.1, 'float32', 5) as tf.Tensor4D;
  const dy = tf.randomNormal([64, 28, 28, 32], 0, 1, 'float32', 6) as tf.Tensor4D;
  const convFlops = 2 * 64 * 32 * 28 * 28 * 32 * 9;
  record('conv2d 3x3 [64,32,28,28]→32 forward', convFlops, () => tf.conv2d(x, w, 1, 'same'),
    `${setup.note}; NHWC input [64,28,28,32] and filter [3,3,32,32] (the wasm conv2d has no NCHW), the same FLOPs`);

  // backward: the input gradient is the wasm Conv2DBackpropInput kernel; wasm registers no
  // Conv2DBackpropFilter kernel (running it, as the gradient of tf.conv2d does, throws "not registered
  // for backend 'wasm'"; tfjs does not fall back to its CPU backend), so the weight gradient is a
  // conv2d that sums over the batch: the input as [C_in, H, W, N] with the
  // output gradient as a 28×28 filter [H, W, N, C_out], padding 1, gives [C_in, 3, 3, C_out].
  const dxS = run(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: x.shape }) as tf.Tensor);
  const dwS = run(() => {
    const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    return tf.transpose(tf.conv2d(xT, dyT, 1, 1), [1, 2, 0, 3]);
  });
  const bwd = dxS + dwS;
  out.push({
    name: 'conv2d 3x3 [64,32,28,28]→32 backward (input+weight)', backend, threads, value: +gflops(2 * convFlops, bwd).toFixed(3), unit: 'GFLOP/s', seconds: +bwd.toFixed(5),
    note: `${setup.note}; NHWC; input gradient: the wasm Conv2DBackpropInput kernel (${(dxS * 1e3).toFixed(1)} ms, ${gflops(convFlops, dxS).toFixed(2)} GFLOP/s); `
      + `weight gradient: wasm has no Conv2DBackpropFilter kernel, so it is a conv2d of the transposed input [32,28,28,64] with the transposed output gradient [28,28,64,32] as a 28×28 filter, the three transposes included (${(dwS * 1e3).toFixed(1)} ms, ${gflops(convFlops, dwS).toFixed(2)} GFLOP/s); 2×conv FLOPs over the two`,
  });
  return out;
};

/** The largest error of the weight gradient above against the direct sum, on small shapes. */
export const checkFilterGradient = (): number => tf.tidy(() => {
  const x = tf.randomNormal([4, 7, 7, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const dy = tf.randomNormal([4, 7, 7, 5], 0, 1, 'float32', 8) as tf.Tensor4D;
  const viaConv = tf.transpose(tf.conv2d(tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D, 1, 1), [1, 2, 0, 3]);
  // direct sum: dW[i,j,ci,co] = Σ_{n,h,w} xpad[n,h+i,w+j,ci]·dy[n,h,w,co]
  const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]).arraySync() as number[][][][];
  const d = dy.arraySync() as number[][][][];
  const got = viaConv.arraySync() as number[][][][];
  let err = 0;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let ci = 0; ci < 3; ci++) for (let co = 0; co < 5; co++) {
    let s = 0;
    for (let n = 0; n < 4; n++) for (let h = 0; h < 7; h++) for (let w = 0; w < 7; w++) s += xp[n][h + i][w + j][ci] * d[n][h][w][co];
    err = Math.max(err, Math.abs(s - got[i][j][ci][co]));
  }
  return err;
});

const main = async (): Promise<void> => {
  const { values: flags } = cli(benchTfjsCommand);
  // --threaded: the threaded build even for one thread (to tell the build's cost from the threads' gain)
  const setup = await initTfjsWasm(flags.threads, { threaded: flags.threaded });
  console.error(`tfjs-wasm: ${setup.note}`);
  const err = checkFilterGradient();
  if (!(err < 1e-3)) throw new Error(`tfjs-wasm: the weight gradient as a conv2d is off by ${err}`);
  console.log(JSON.stringify(tfjsOpBenchmarks(setup, flags['min-seconds'])));
  // the threaded build's workers would keep the process alive
  process.exit(0);
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    process.exit(1);
  });
}
