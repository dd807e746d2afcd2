/** docs/BENCHMARKS.md from docs/benchmarks.json (the figures each suite of scripts/bench.ts stored). */
import type { BenchResult, Machine } from './harness.ts';
import { parseSampleCaseName } from './sample.ts';

export type Breakdowns = Record<string, { kernel: string; share: number; calls: number }[]>;
export type Store = Record<string, { machine: Machine; results: BenchResult[]; breakdowns?: Breakdowns }>;

/** Backends measured at more than one thread count are labelled with it. */
const threaded = (backend: string): boolean => backend === 'fast' || backend === 'tfjs-wasm';
const label = (r: BenchResult): string => (threaded(r.backend) ? `${r.backend}, ${r.threads} thread${r.threads > 1 ? 's' : ''}` : r.backend);

/** Column order: the reference backends, then the baseline, then the fast path; each by threads. */
const backendOrder = ['plain', 'plain64', 'gpujs-cpu', 'gpujs-webasm', 'gpujs-headlessgl', 'gpujs-gpu', 'tfjs-wasm', 'fast'];
const columns = (rs: readonly BenchResult[]): string[] => {
  const firsts = new Map<string, BenchResult>();
  for (const r of rs) if (!firsts.has(label(r))) firsts.set(label(r), r);
  const rank = (r: BenchResult): number => {
    const i = backendOrder.indexOf(r.backend);
    return i < 0 ? backendOrder.length : i;
  };
  return [...firsts.values()].sort((a, b) => rank(a) - rank(b) || a.threads - b.threads).map(label);
};

const ratio = (a: BenchResult | undefined, b: BenchResult | undefined): string => {
  if (!a || !b || !(b.value > 0)) return '–';
  // a ratio of figures from different runs is marked: the issue asks for both measured in the same run
  const apart = a.date !== undefined && a.date === b.date ? '' : ' †';
  return `${(a.value / b.value).toFixed(2)}×${apart}`;
};

/**
 * The notes of each backend: what all its rows' notes share (their common `; `-separated parts) in
 * one line, `- label: …`, then what is left of each, `- case on label: …`, cases with the same rest together.
 */
const notes = (rs: readonly BenchResult[]): string[] => {
  const lines: string[] = [];
  const byLabel = new Map<string, BenchResult[]>();
  for (const r of rs) byLabel.set(label(r), [...(byLabel.get(label(r)) ?? []), r]);
  for (const [l, group] of byLabel) {
    const parts = group.map((r) => (r.note ? r.note.split('; ') : []));
    const common = group.length > 1 ? parts[0].filter((p) => parts.every((q) => q.includes(p))) : [];
    if (common.length) lines.push(`- ${l}: ${common.join('; ')}`);
    const rests = new Map<string, string[]>();
    group.forEach((r, i) => {
      const rest = parts[i].filter((p) => !common.includes(p)).join('; ');
      if (rest) rests.set(rest, [...(rests.get(rest) ?? []), r.name]);
    });
    for (const [rest, names] of rests) lines.push(`- ${names.join('; ')} on ${l}: ${rest}`);
  }
  return lines;
};

const machineLine = (m: Machine): string => `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.date.slice(0, 10)}.`;

const plainTable = (rs: readonly BenchResult[], opsRatios: boolean): string[] => {
  const backends = columns(rs);
  const cases = [...new Set(rs.map((r) => r.name))];
  const find = (c: string, pred: (r: BenchResult) => boolean): BenchResult | undefined => rs.find((r) => r.name === c && pred(r));
  const fastThreads = Math.max(1, ...rs.filter((r) => r.backend === 'fast').map((r) => r.threads));
  const candidates = opsRatios ? [
    { head: 'fast 1 thread / tfjs-wasm 1 thread', cell: (c: string) => ratio(find(c, (r) => r.backend === 'fast' && r.threads === 1), find(c, (r) => r.backend === 'tfjs-wasm' && r.threads === 1)) },
    { head: `fast ${fastThreads} threads / tfjs-wasm ${fastThreads} threads`, cell: (c: string) => ratio(find(c, (r) => r.backend === 'fast' && r.threads === fastThreads), find(c, (r) => r.backend === 'tfjs-wasm' && r.threads === fastThreads)) },
    { head: `fast speed-up, ${fastThreads} threads / 1`, cell: (c: string) => ratio(find(c, (r) => r.backend === 'fast' && r.threads === fastThreads), find(c, (r) => r.backend === 'fast' && r.threads === 1)) },
  ] : [];
  // a ratio column shows when it has a figure (and the thread ones only when there are more threads)
  const ratios = candidates.slice(0, fastThreads > 1 ? 3 : 1).filter((x) => cases.some((c) => x.cell(c) !== '–'));
  const lines = [
    `| benchmark | unit | ${[...backends, ...ratios.map((x) => x.head)].join(' | ')} |`,
    `|---|---|${[...backends, ...ratios].map(() => '---:').join('|')}|`,
  ];
  for (const c of cases) {
    const unit = rs.find((r) => r.name === c)?.unit ?? '';
    const cells = backends.map((b) => find(c, (r) => label(r) === b)?.value ?? '–');
    lines.push(`| ${c} | ${unit} | ${[...cells, ...ratios.map((x) => x.cell(c))].join(' | ')} |`);
  }
  if (ratios.length) {
    lines.push('', 'Ratios are of GFLOP/s (above 1: the fast path is faster); † marks a ratio of figures not known to come from the same run.');
  }
  return lines;
};

/** The sampling suite: per network, batch and backend, a table of samplers × step counts. */
const sampleTables = (rs: readonly BenchResult[]): string[] => {
  const lines: string[] = [];
  const parsed = rs.flatMap((r) => {
    const p = parseSampleCaseName(r.name);
    return p ? [{ r, ...p }] : [];
  });
  const groups = [...new Set(parsed.map((p) => `${p.network}|${p.batch}|${label(p.r)}`))];
  for (const g of groups) {
    const rows = parsed.filter((p) => `${p.network}|${p.batch}|${label(p.r)}` === g);
    const { network, batch, r } = rows[0];
    const steps = [...new Set(rows.map((p) => p.steps))].sort((a, b) => a - b);
    const samplers = [...new Set(rows.map((p) => p.sampler))];
    lines.push(`Wall time to draw ${batch} images with \`${network}\` on ${label(r)} (seconds, and per step):`, '',
      `| sampler | ${steps.map((s) => `${s} steps`).join(' | ')} |`, `|---|${steps.map(() => '---:').join('|')}|`);
    for (const s of samplers) {
      const cells = steps.map((n) => {
        const p = rows.find((x) => x.sampler === s && x.steps === n);
        return p ? `${p.r.value} s (${(1000 * p.r.value / n).toFixed(0)} ms)` : '–';
      });
      lines.push(`| ${s} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  const other = rs.filter((r) => !parseSampleCaseName(r.name));
  if (other.length) lines.push(...plainTable(other, false), '');
  lines.push('ddpm: ancestral DDPM (respaced below 1000 steps); ddim: DDIM with η = 0; dpmpp2m: DPM-Solver++(2M). Linear schedule, T = 1000; '
    + 'randomly initialised weights (the cost of a step does not depend on their values); one timed run per figure after a one-step warm-up, the sample read back at the end.');
  return lines;
};

export const renderMarkdown = (all: Store): string => {
  const lines = ['# Benchmarks', '',
    'Generated by `npm run bench` (scripts/bench.ts: `--suite ops`, `--suite train`) and `npm run bench:sample` (`--suite sample`) from docs/benchmarks.json; do not edit by hand.',
    'Op and training figures are medians of timed runs after a warm-up; every run reads its result back. `fast, 1 thread` is the fast backend held to one thread; '
    + '`tfjs-wasm` is @tensorflow/tfjs-backend-wasm (XNNPACK), the baseline, a devDependency of the benchmarks only (scripts/bench/tfjs.ts).',
    'conv2d rows count the direct convolution\'s FLOPs (2·n·o·c·9·h·w per pass) whatever the algorithm: on `fast` (and `plain`) a stride-1 3×3 conv runs as Winograd F(4×4, 3×3), which does 4× fewer multiply-adds, so its figure is an effective rate; '
    + 'the rows marked (im2col) time the same conv through im2col + matmul on those backends. `--rounds N` figures are medians over N round-robin passes of the backend list, with their range.', ''];
  for (const [name, { machine: m, results: rs, breakdowns: bd }] of Object.entries(all)) {
    lines.push(`## ${name}`, '', machineLine(m), '');
    if (name === 'sample') {
      lines.push(...sampleTables(rs), '');
      continue;
    }
    lines.push(...plainTable(rs, name === 'ops'), '', ...notes(rs));
    for (const [what, rows] of Object.entries(bd ?? {})) {
      lines.push('', `Where the time of one ${what} goes (share of kernel time, calls per step):`, '', '| kernel | share | calls |', '|---|---:|---:|');
      for (const k of rows) lines.push(`| ${k.kernel} | ${(100 * k.share).toFixed(1)} % | ${k.calls} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
};
