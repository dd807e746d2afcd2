// Throwaway timing script for the fast backend (not part of the library).
// usage: tsx scripts/bench-fast-scratch.ts gemm "mr nr unroll mc kc nc" ...   (square + conv-sized GEMMs)
//        tsx scripts/bench-fast-scratch.ts conv                               (mnist32 conv matmuls via the backend)
import { WasmHeap } from '../src/tensor/fast/memory.ts';
import { Gemm } from '../src/tensor/fast/matmul.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
import type { MatmulSpec } from '../src/tensor/backend.ts';

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const best = (xs: number[]): number => Math.min(...xs);

const gemmBench = (cfgs: string[]): void => {
  const configs = (cfgs.length ? cfgs : ['4 16 4 120 256 1024']).map((s) => {
    const [mr, nr, unroll, mc = 120, kc = 256, nc = 1024, threads = 1] = s.split(/\s+/).map(Number);
    return { mr, nr, unroll, mc, kc, nc, threads };
  });
  const heap = new WasmHeap();
  const gemms = configs.map((c) => new Gemm(heap, c, c, c.threads));
  const shapes = (process.env.SHAPES ?? '512x512x512,256x1152x784').split(',').map((s) => s.split('x').map(Number));
  const bufs = shapes.map(([m, k, n]) => {
    const a = heap.alloc(m * k), b = heap.alloc(k * n), c = heap.alloc(m * n);
    const f = heap.f32;
    for (let i = 0; i < m * k; i++) f[a.index + i] = Math.sin(i);
    for (let i = 0; i < k * n; i++) f[b.index + i] = Math.cos(i);
    return { a, b, c, spec: { batch: 1, m, k, n, transA: false, transB: false, strideA: 0, strideB: 0 } as MatmulSpec };
  });
  const times = configs.map(() => shapes.map(() => [] as number[]));
  for (let round = 0; round < 12; round++) {
    gemms.forEach((g, gi) => bufs.forEach(({ a, b, c, spec }, si) => {
      g.run(a.offset, b.offset, c.offset, spec);
      const t0 = performance.now();
      g.run(a.offset, b.offset, c.offset, spec);
      g.run(a.offset, b.offset, c.offset, spec);
      times[gi][si].push((performance.now() - t0) / 2);
    }));
  }
  configs.forEach((cfg, gi) => {
    const line = shapes.map(([m, k, n], si) => {
      const t = times[gi][si].slice(2);
      const gf = (ms: number): string => (2 * m * n * k / ms / 1e6).toFixed(1);
      return `${m}x${k}x${n}: med ${gf(median(t))} best ${gf(best(t))}`;
    }).join(' | ');
    console.log(`${cfg.mr}x${cfg.nr}u${cfg.unroll} ${cfg.mc}/${cfg.kc}/${cfg.nc} ${cfg.threads}T  ${line}  GFLOP/s`);
  });
};

/** mnist32's conv matmuls (batch 64) through the backend; shapes "mr nr unroll" compared interleaved. */
const convBench = (cfgs: string[]): void => {
  const shapes = (cfgs.length ? cfgs : ['4 16 4']).map((s) => {
    const [mr, nr, unroll, threads = 1] = s.split(/\s+/).map(Number);
    return { mr, nr, unroll, threads };
  });
  const bes = shapes.map((sh) => createFastBackend({ gemmShape: sh, threads: sh.threads }));
  const batch = 64;
  const layers = [[32, 32, 784], [64, 64, 196], [128, 128, 49]];
  for (const [o, c, hw] of layers) {
    const k9 = c * 9;
    const flops = 2 * batch * o * k9 * hw;
    const specs: [string, MatmulSpec, number, number][] = [
      ['fwd W·cols   ', { batch, m: o, k: k9, n: hw, transA: false, transB: false, strideA: 0, strideB: k9 * hw }, 0, 1],
      ['dX  Wᵀ·dY    ', { batch, m: k9, k: o, n: hw, transA: true, transB: false, strideA: 0, strideB: o * hw }, 0, 2],
      ['dW  dY·colsᵀ ', { batch, m: o, k: hw, n: k9, transA: false, transB: true, strideA: o * hw, strideB: k9 * hw }, 2, 1],
    ];
    const data = [o * k9, batch * k9 * hw, batch * o * hw].map((n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
    const hs = bes.map((be) => data.map((d) => be.write(d)));
    for (const [name, spec, ai, bi] of specs) {
      const ts = bes.map(() => [] as number[]);
      for (let r = 0; r < 6; r++) {
        bes.forEach((be, j) => {
          const t0 = performance.now();
          const out = be.matmul(hs[j][ai], hs[j][bi], spec);
          ts[j].push(performance.now() - t0);
          be.dispose(out);
        });
      }
      const line = shapes.map((sh, j) => `${sh.mr}x${sh.nr} ${sh.threads}T: ${(flops / median(ts[j].slice(1)) / 1e6).toFixed(1)}/${(flops / best(ts[j]) / 1e6).toFixed(1)}`).join('  ');
      console.log(`${o}x${c}@${hw} ${name} med/best GFLOP/s  ${line}`);
    }
    bes.forEach((be, j) => hs[j].forEach((h) => be.dispose(h)));
  }
};


/** A ResBlock-like step (conv → GN → SiLU → conv, forward + backward) per backend, time by kernel. */
export const stepProfile = async (names: string[]): Promise<void> => {
  const O = await import('../src/ops/index.ts');
  const R = await import('../src/tensor/random.ts');
  const { tidy, toArray } = await import('../src/tensor/tensor.ts');
  const { withBackend } = await import('../src/tensor/engine.ts');
  const { valueAndGrad } = await import('../src/grad/value-and-grad.ts');
  const { createPlainBackend } = await import('../src/tensor/plain/index.ts');
  const sizes = (process.env.LAYER ?? '64,32,28').split(',').map(Number);
  const [batch, ch, hw] = sizes;
  for (const name of names) {
    const inner = name === 'plain' ? createPlainBackend() : createFastBackend({ threads: name === 'fast2' ? 2 : 1 });
    const times = new Map<string, number>();
    const be = new Proxy(inner, {
      get(t, k) {
        const v = (t as unknown as Record<string | symbol, unknown>)[k];
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const t0 = performance.now();
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          const key = k === 'binary' || k === 'unary' || k === 'reduceLast' ? `${String(k)}:${String(args[0])}`
            : k === 'strided' && process.env.DETAIL ? `strided[${String(args[1])}]/[${String(args[2])}]`
            : k === 'binary' && process.env.DETAIL ? `binary[${String(args[3])}]` : String(k);
          times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
          return r;
        };
      },
    });
    withBackend(be, () => {
      const [k1, k2, k3] = R.split(R.key(1), 3);
      const p = { w1: O.normal(k1, [ch, ch, 3, 3], 0, 0.1), w2: O.normal(k2, [ch, ch, 3, 3], 0, 0.1), b: O.zeros([ch]) };
      const x = O.normal(k3, [batch, ch, hw, hw]);
      const loss = (q: typeof p) => {
        const h = O.silu(O.groupNorm(O.conv2d(x, q.w1, q.b, { padding: 1 }), 8, null, null));
        return O.mean(O.square(O.conv2d(h, q.w2, q.b, { padding: 1 })));
      };
      for (let i = 0; i < 4; i++) {
        if (i === 1) times.clear();
        tidy(() => { toArray(valueAndGrad(loss)(p).value); });
      }
    });
    const total = [...times.values()].reduce((a, b) => a + b, 0) / 3;
    const top = [...times.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${(v / 3).toFixed(1)}`);
    console.log(`${name} [${sizes}] step ${total.toFixed(1)} ms: ${top.join(', ')}`);
  }
};


/** One real training step of a named network (env NET, BATCH) per backend, time by kernel. */
export const netProfile = async (names: string[]): Promise<void> => {
  const { withBackend } = await import('../src/tensor/engine.ts');
  const { tidy, toFloat32, disposeTree } = await import('../src/tensor/tensor.ts');
  const { network, namedNetworks } = await import('../src/train/network.ts');
  const { trainStep } = await import('../src/train/step.ts');
  const { scheduleFromConfig } = await import('../src/ddpm/schedule.ts');
  const { adam } = await import('../src/grad/optim.ts');
  const R = await import('../src/tensor/random.ts');
  const O = await import('../src/ops/index.ts');
  const { createPlainBackend } = await import('../src/tensor/plain/index.ts');
  const netName = (process.env.NET ?? 'mnist32') as keyof typeof namedNetworks;
  const batch = Number(process.env.BATCH ?? 64);
  const steps = Number(process.env.STEPS ?? 3);
  for (const name of names) {
    const inner = name === 'plain' ? createPlainBackend() : createFastBackend({ threads: name === 'fast2' ? 2 : 1 });
    const times = new Map<string, number>();
    const be = new Proxy(inner, {
      get(t, k) {
        const v = (t as unknown as Record<string | symbol, unknown>)[k];
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const t0 = performance.now();
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          const spec = args[2] as MatmulSpec;
          const key = k === 'binary' || k === 'unary' || k === 'reduceLast' ? `${String(k)}:${String(args[0])}`
            : k === 'matmul' && process.env.DETAIL ? `mm[${spec.batch}x${spec.m}x${spec.k}x${spec.n}${spec.transA ? 'tA' : ''}${spec.transB ? 'tB' : ''}${spec.strideA === 0 ? 'sA' : ''}${spec.strideB === 0 ? 'sB' : ''}]`
            : k === 'strided' && process.env.DETAIL ? `strided[${String(args[1])}]/[${String(args[2])}]` : String(k);
          times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
          return r;
        };
      },
    });
    withBackend(be, () => {
      const net = network(namedNetworks[netName]);
      const schedule = scheduleFromConfig({ kind: 'linear', T: 1000 });
      const opt = adam({ lr: 1e-4 });
      let w = net.init(R.key(0));
      let s = opt.init(w.params as never);
      const x0 = O.normal(R.key(1), [batch, net.channels, 28, 28]);
      let wall = 0;
      for (let i = 0; i <= steps; i++) {
        if (i === 1) { times.clear(); wall = 0; }
        const t0 = performance.now();
        const r = tidy(() => trainStep(net, schedule, opt, w, s, x0, R.key(10 + i)));
        toFloat32(r.loss as never);
        wall += performance.now() - t0;
        disposeTree([w, s] as never);
        w = r.weights as never; s = r.optState as never;
      }
      const total = [...times.values()].reduce((a, b) => a + b, 0) / steps;
      const top = [...times.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 14)).map(([k, v]) => `${k} ${(v / steps).toFixed(0)}`);
      console.log(`${name} ${netName}@${batch}: step ${(wall / steps).toFixed(0)} ms (kernels ${total.toFixed(0)}), ${(batch * 1000 / (wall / steps)).toFixed(1)} img/s: ${top.join(', ')}`);
    });
  }
};

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'conv') convBench(rest);
else if (mode === 'net') void netProfile(rest.length ? rest : ['fast', 'fast2']);
else if (mode === 'step') void stepProfile(rest.length ? rest : ['plain', 'fast', 'fast2']);
else gemmBench(rest);
