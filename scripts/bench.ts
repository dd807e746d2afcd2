/**
 * Benchmarks. `npm run bench:ops` (or `tsx scripts/bench.ts --suite ops`) times the engine's op
 * benchmarks on every backend that works here, and on tfjs-backend-wasm as the baseline, prints one
 * JSON object `{ machine, results: [{ name, backend, threads, value, unit }] }`, stores the figures in
 * docs/benchmarks.json and regenerates docs/BENCHMARKS.md.
 *
 * Flags:
 *   --suite ops|train|sample
 *   --backends fast,fast-1t,plain,gpujs-cpu,gpujs-webasm,gpujs-headlessgl,tfjs-wasm-1t,tfjs-wasm
 *   --rounds N   ops and train: measure the list N times round-robin and keep each figure's median
 *       (tfjs-wasm* are ops only; default: all of them for ops, fast for train and sample)
 *   --networks mnist32:64,seed:64   network:batch for train (default mnist32:64,seed:64) and sample
 *       (default mnist32:64; a network without :batch takes --n, default 64)
 *   --samplers ddpm,ddim,dpmpp2m --steps 10,25,50,1000   (sample; the defaults)
 *   --min-seconds S (ops), --json (JSON only on stdout), --render (only rewrite docs/BENCHMARKS.md
 *   from docs/benchmarks.json). `--help` lists them with their defaults.
 * Without a display, it re-runs itself under `xvfb-run -a` when that exists, so headlessgl is measured too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/tensor/backend.ts';
import { backendByName } from '../src/tensor/engine.ts';
import { createFastBackend } from '../src/tensor/fast/index.ts';
import { type BenchResult, machine } from './bench/harness.ts';
import { opBenchmarks } from './bench/ops.ts';
import { trainBenchmark } from './bench/train.ts';
import { type SamplerName, sampleBenchmarks, samplerNames } from './bench/sample.ts';
import { type Breakdowns, renderMarkdown, type Store } from './bench/render.ts';
import { benchCommand } from '../src/cli/commands.ts';
import { cli } from '../src/cli/cli.ts';

const args = process.argv.slice(2);
const { values: flags } = cli(benchCommand, args);
const jsonOnly = flags.json;
const log = (...m: unknown[]): void => {
  if (!jsonOnly) console.error(...m);
};

if (!process.env.DISPLAY && !process.env.BENCH_NO_XVFB && spawnSync('which', ['xvfb-run']).status === 0) {
  const r = spawnSync('xvfb-run', ['-a', 'node_modules/.bin/tsx', process.argv[1], ...args], {
    stdio: 'inherit', env: { ...process.env, BENCH_NO_XVFB: '1' },
  });
  process.exit(r.status ?? 1);
}

const store = 'docs/benchmarks.json';
if (flags.render) {
  // only rewrite docs/BENCHMARKS.md from the stored figures
  writeFileSync('docs/BENCHMARKS.md', renderMarkdown(JSON.parse(readFileSync(store, 'utf8'))));
  process.exit(0);
}
const suite = flags.suite;
const minSeconds = flags['min-seconds'];
const defaultBackends = suite === 'ops' ? 'fast-1t,fast,tfjs-wasm-1t,tfjs-wasm,plain,gpujs-cpu,gpujs-webasm,gpujs-headlessgl' : 'fast';
const wanted = (flags.backends ?? defaultBackends).split(',');
const list = (given: string): string[] => given.split(',').filter((x) => x !== '');
const defaultBatch = flags.n;
const networkCases = list(flags.networks ?? (suite === 'sample' ? 'mnist32:64' : 'mnist32:64,seed:64')).map((c) => {
  const [networkName, batch] = c.split(':');
  return { networkName, batch: batch === undefined ? defaultBatch : Number(batch) };
});
const samplers = list(flags.samplers) as SamplerName[];
const steps = list(flags.steps).map(Number);
const bad = [
  ...networkCases.filter((c) => !(Number.isInteger(c.batch) && c.batch > 0)).map((c) => `--networks: "${c.networkName}:${c.batch}": the batch must be a positive integer`),
  ...samplers.filter((x) => !(samplerNames as readonly string[]).includes(x)).map((x) => `--samplers: expected ${samplerNames.join(', ')}, got "${x}"`),
  ...steps.filter((n) => !(Number.isInteger(n) && n >= 1 && n <= 1000)).map((n) => `--steps: expected integers in [1, 1000], got "${n}"`),
];
if (bad.length) {
  process.stderr.write(`bench: ${bad[0]}\n`);
  process.exit(2);
}
const breakdowns: Breakdowns = {};
const runDate = new Date().toISOString();

/**
 * `--rounds N` (ops and train) measures the whole backend list N times, round-robin, and keeps each
 * figure's median: on a shared machine whose speed drifts over minutes, every backend then sees the
 * same mix of fast and slow spells, and the spread is reported with the figure.
 */
const rounds = suite === 'sample' ? 1 : flags.rounds;
const results: BenchResult[] = [];
/** Every figure of this run carries its start, so the page can tell which were measured together. */
const add = (...rows: BenchResult[]): void => {
  results.push(...rows.map((r) => ({ ...r, date: runDate })));
};
const sameCase = (a: BenchResult, b: BenchResult): boolean => a.name === b.name && a.backend === b.backend && a.threads === b.threads;
/** One row per case: the median value (and seconds) of its rounds, with their range in the note. */
const medians = (rows: readonly BenchResult[]): BenchResult[] => {
  const out: BenchResult[] = [];
  for (const r of rows) {
    if (out.some((o) => sameCase(o, r))) continue;
    const all = rows.filter((x) => sameCase(x, r));
    if (all.length === 1) {
      out.push(r);
      continue;
    }
    const mid = <T>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[Math.floor((xs.length - 1) / 2)];
    const m = mid(all, (x) => x.value);
    const values = all.map((x) => x.value);
    const spread = `median of ${all.length} rounds (${Math.min(...values)} … ${Math.max(...values)})`;
    out.push({ ...m, note: m.note ? `${m.note}; ${spread}` : spread });
  }
  return out;
};
/** `fast-1t` is the fast backend held to one thread, for the single-thread figures and the speed-up. */
const open = (name: string): { backend: Backend; threads: number } =>
  name === 'fast-1t' ? { backend: createFastBackend({ threads: 1 }), threads: 1 }
  : { backend: backendByName(name), threads: name === 'fast' ? Math.min(8, availableParallelism()) : 1 };

/**
 * The tfjs-backend-wasm baseline runs in a child process per thread count (scripts/bench/tfjs.ts:
 * its wasm module is a process-wide singleton, fixed at its first initialisation).
 */
const tfjsWasm = (name: string): BenchResult[] => {
  // XNNPACK's pool is at most 8 threads, like the fast backend's
  const threads = name === 'tfjs-wasm-1t' ? 1 : Math.min(8, availableParallelism());
  const script = fileURLToPath(new URL('./bench/tfjs.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  const r = spawnSync(tsx, [script, '--threads', String(threads), '--min-seconds', String(minSeconds)], { encoding: 'utf8', maxBuffer: 2 ** 24 });
  if (r.stderr) log(r.stderr.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  if (r.status !== 0) throw new Error(`scripts/bench/tfjs.ts exited with ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout) as BenchResult[];
};

const opened = new Map<string, { backend: Backend; threads: number }>();
for (let round = 0; round < rounds; round++) for (const name of wanted) {
  if (rounds > 1 && name === wanted[0]) log(`round ${round + 1} of ${rounds}`);
  if (name === 'tfjs-wasm-1t' || name === 'tfjs-wasm') {
    if (suite !== 'ops') {
      log(`skipping ${name}: it is a baseline of the ops suite only`);
      continue;
    }
    log(`${suite} on ${name} …`);
    try {
      const rows = tfjsWasm(name);
      add(...rows);
      for (const r of rows) log(`  ${r.name}: ${r.value} ${r.unit}`);
    } catch (e) {
      log(`skipping ${name}: ${(e as Error).message}`);
    }
    continue;
  }
  let backend: Backend;
  let threads: number;
  try {
    ({ backend, threads } = opened.get(name) ?? open(name));
    opened.set(name, { backend, threads });
  } catch (e) {
    log(`skipping ${name}: ${(e as Error).message}`);
    continue;
  }
  log(`${suite} on ${name} …`);
  if (suite === 'ops') add(...opBenchmarks(backend, threads, minSeconds));
  if (suite === 'train') {
    for (const c of networkCases) {
      const { result, breakdown } = trainBenchmark(backend, c);
      add({ ...result, threads, note: `peak RSS of the benchmark process so far ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB (it holds every backend measured before in this run)` });
      breakdowns[`${result.name} on ${name}`] = breakdown.slice(0, 12);
    }
  }
  if (suite === 'sample') {
    for (const c of networkCases) {
      // each figure is stored as it comes: a 1000-step run takes a while
      sampleBenchmarks(backend, threads, {
        ...c, samplers, steps,
        onResult: (r) => {
          add(r);
          persist();
          log(`  ${r.name}: ${r.value} ${r.unit}`);
        },
      });
    }
    continue;
  }
  for (const r of results.filter((x) => x.backend === backend.name && x.threads === threads).slice(-4)) log(`  ${r.name}: ${r.value} ${r.unit}`);
}
if (rounds > 1) results.splice(0, results.length, ...medians(results));
const report = { machine: machine(), suite, results, ...(suite === 'train' ? { breakdowns } : {}) };
console.log(JSON.stringify(report, null, jsonOnly ? 0 : 2));
persist();
log('wrote docs/benchmarks.json and docs/BENCHMARKS.md');

/**
 * docs/benchmarks.json keeps the latest figures of each suite; docs/BENCHMARKS.md is made from it.
 * A run replaces the figures it measured and keeps the others (so one backend can be re-measured alone).
 */
function persist(): void {
  const all: Store = existsSync(store) ? JSON.parse(readFileSync(store, 'utf8')) : {};
  const kept = (all[suite]?.results ?? []).filter((old) => !results.some((r) => sameCase(r, old)));
  all[suite] = { machine: machine(), results: [...kept, ...results], ...(suite === 'train' ? { breakdowns: { ...all[suite]?.breakdowns, ...breakdowns } } : {}) };
  writeFileSync(store, `${JSON.stringify(all, null, 2)}\n`);
  writeFileSync('docs/BENCHMARKS.md', renderMarkdown(all));
}
