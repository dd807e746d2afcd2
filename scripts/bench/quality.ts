/**
 * The recipes `npm run bench:quality` compares, and how its figures are rendered: a Markdown table
 * per budget and an SVG plot of quality against minutes of training.
 */
import { describeInterval } from '../../src/train/guide-file.ts';
import { presets } from '../../src/train/config.ts';

export interface QualityRecipe {
  readonly name: string;
  readonly description: string;
  /** scripts/train.ts flags (the bench adds --train-steps, --out and turns the grids off) */
  readonly train: readonly string[];
  /** how the run is sampled for scoring */
  readonly sampler: 'ddpm' | 'ddim' | 'dpmpp2m';
  readonly sampleSteps: number;
  /** the autoguidance scale to score with (a run with a guide: its own scale when absent) */
  readonly autoguidance?: number;
  /** the diffusion times t/T in [lo, hi) the guide acts at when scoring (a run with a guide: its own interval when absent) */
  readonly autoguidanceInterval?: readonly [number, number];
}

/** A recipe of the search: a U-Net with levels [1, 2, 2] (attention at 7×7) and the default's schedule and optimiser. */
const searched = (name: string, description: string, base: number, objective: 'eps' | 'v', minSnr = 0): QualityRecipe => ({
  name, description,
  train: [
    '--preset', 'quick', '--network', 'tiny', '--network-json', JSON.stringify({ baseChannels: base, channelMults: [1, 2, 2], timeDim: 4 * base }),
    '--batch', '32', '--lr', '2e-3', '--warmup', '200', '--lr-decay', 'cosine', '--ema', '0.999', '--objective', objective, '--min-snr', String(minSnr),
  ],
  sampler: 'ddpm', sampleSteps: 100,
});

const searchedNote = 'batch 32, Adam 2e-3 with 200 warm-up steps and cosine decay, EMA 0.999, cosine T = 400';

export const qualityRecipes: readonly QualityRecipe[] = [
  {
    name: 'old-quick',
    description: 'the default before the retune: tiny U-Net (118k), batch 32, constant Adam 2e-3, EMA 0.995, cosine T = 400, ε',
    train: ['--preset', 'quick', '--network', 'tiny', '--batch', '32', '--lr', '2e-3', '--warmup', '0', '--lr-decay', 'constant', '--ema', '0.995', '--objective', 'eps', '--min-snr', '0'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  searched('t3', `U-Net base 16, levels [1, 2, 2] (attention at 7×7), 208k parameters; ${searchedNote}, ε`, 16, 'eps'),
  searched('w24', `U-Net base 24, levels [1, 2, 2] (attention at 7×7), 464k parameters; ${searchedNote}, ε`, 24, 'eps'),
  searched('w32', `U-Net base 32, levels [1, 2, 2] (attention at 7×7), 822k parameters; ${searchedNote}, ε`, 32, 'eps'),
  searched('w24-v', 'w24 predicting v instead of ε', 24, 'v'),
  searched('w24-snr', 'w24 with min-SNR-5 loss weighting', 24, 'eps', 5),
  searched('w24-v-snr', 'w24 predicting v, with min-SNR-5 loss weighting', 24, 'v', 5),
  {
    name: 'quick-noguide',
    description: 'the default preset of sessions 5–7, before autoguidance: the small U-Net (= w24) predicting v, batch 32, Adam 2e-3, sampled alone',
    train: ['--preset', 'quick', '--batch', '32', '--lr', '2e-3', '--guide-at', '0'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 'quick-w3',
    description: 'the default preset of session 8: quick-noguide, 3,000 steps then, with its EMA frozen at two thirds as its guide, sampled with autoguidance w = 3 at every step',
    train: ['--preset', 'quick', '--batch', '32', '--lr', '2e-3', '--guide-at', '0.6667', '--guide-scale', '3'],
    sampler: 'ddpm', sampleSteps: 100, autoguidance: 3, autoguidanceInterval: [0, 1],
  },
  {
    name: 'quick-b32',
    description: 'the default preset of session 9: quick-w3 with 3,400 steps, sampled with w = 3.5',
    train: ['--preset', 'quick', '--batch', '32', '--lr', '2e-3', '--guide-at', '0.6667', '--guide-scale', '3.5'],
    sampler: 'ddpm', sampleSteps: 100, autoguidance: 3.5, autoguidanceInterval: [0, 1],
  },
  {
    name: 'quick-w35',
    description: 'the default preset, sampled with w = 3.5',
    train: ['--preset', 'quick', '--guide-scale', '3.5'],
    sampler: 'ddpm', sampleSteps: 100, autoguidance: 3.5, autoguidanceInterval: [0, 1],
  },
  {
    name: 'quick',
    description: `the default preset (src/train/config.ts): the small U-Net predicting v, batch ${presets.quick.batch}, Adam ${presets.quick.lr} with 200 warm-up steps and cosine decay, EMA 0.999, sampled with autoguidance by its own EMA weights frozen at two thirds of the run (w = ${presets.quick.guideScale}${describeInterval(presets.quick.guideInterval)}), ${presets.quick.steps?.toLocaleString('en-US')} steps by default`,
    train: ['--preset', 'quick'],
    sampler: 'ddpm', sampleSteps: 100, autoguidance: presets.quick.guideScale, autoguidanceInterval: presets.quick.guideInterval,
  },
];

export interface QualityPoint {
  readonly recipe: string;
  readonly budgetMinutes: number;
  readonly steps: number;
  readonly images: number;
  readonly trainMinutes: number;
  readonly sampler: string;
  readonly sampleSteps: number;
  /** the autoguidance scale the samples were drawn with (absent: none) */
  readonly autoguidance?: number;
  /** the interval of t/T the guide acted in (absent: every step) */
  readonly autoguidanceInterval?: readonly [number, number];
  readonly samplingSeconds: number;
  readonly n: number;
  readonly fd: number;
  readonly floorFd: number;
  readonly fdOverFloor: number;
  readonly confident: number;
  readonly coverage: number;
  readonly date: string;
  /** something a reader should know about this measurement (shown under its table) */
  readonly note?: string;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** One panel of the plot: y(minutes) per recipe, with ticks, axis titles and a title. */
const panel = (
  points: readonly QualityPoint[], recipes: readonly string[], x0: number, title: string, yTitle: string,
  y: (p: QualityPoint) => number, yMax: number, yTicks: readonly number[], tickLabel: (v: number) => string,
  scale: (v: number) => number = (v) => v, goal?: { readonly value: number; readonly label: string },
): string => {
  const w = 360;
  const h = 240;
  const left = x0 + 56;
  const right = x0 + w - 16;
  const top = 36;
  const bottom = h - 44;
  const xMax = Math.max(...points.map((p) => p.trainMinutes), 1) * 1.08;
  const px = (m: number) => left + ((right - left) * m) / xMax;
  const py = (v: number) => bottom - ((bottom - top) * (scale(Math.min(v, yMax)) - scale(yTicks[0]))) / (scale(yMax) - scale(yTicks[0]));
  const xTicks = [0, 5, 10, 15, 20, 25, 30, 40, 60].filter((m) => m <= xMax);
  const parts = [
    `<text x="${(left + right) / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#000"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#000"/>`,
    ...xTicks.map((m) => `<line x1="${px(m)}" y1="${bottom}" x2="${px(m)}" y2="${bottom + 4}" stroke="#000"/><text x="${px(m)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${m}</text>`),
    ...yTicks.map((v) => `<line x1="${left - 4}" y1="${py(v)}" x2="${right}" y2="${py(v)}" stroke="#ddd"/><text x="${left - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${tickLabel(v)}</text>`),
    `<text x="${(left + right) / 2}" y="${h - 8}" text-anchor="middle" font-size="12">minutes of training</text>`,
    ...(goal ? [`<line x1="${left}" y1="${py(goal.value)}" x2="${right}" y2="${py(goal.value)}" stroke="#888" stroke-dasharray="5 4"/><text x="${right - 2}" y="${py(goal.value) - 4}" text-anchor="end" font-size="10" fill="#555">${goal.label}</text>`] : []),
    `<text x="${x0 + 14}" y="${(top + bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${x0 + 14} ${(top + bottom) / 2})">${yTitle}</text>`,
  ];
  recipes.forEach((r, i) => {
    const pts = points.filter((p) => p.recipe === r).sort((a, b) => a.trainMinutes - b.trainMinutes);
    const c = colours[i % colours.length];
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${px(p.trainMinutes).toFixed(1)},${py(y(p)).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${px(p.trainMinutes).toFixed(1)}" cy="${py(y(p)).toFixed(1)}" r="3" fill="${c}"/>`);
  });
  return parts.join('\n');
};

/** Points scored on at least this many samples go in the main tables and the plot; the rest were the recipe search. */
export const REPORTED_N = 1000;

export const renderQuality = (all: readonly QualityPoint[]): { readonly markdown: string; readonly svg: string } => {
  const main = all.filter((p) => p.n >= REPORTED_N);
  const search = all.filter((p) => p.n < REPORTED_N);
  const points = main;
  const recipes = [...new Set(points.map((p) => p.recipe))];
  const budgets = [...new Set(points.map((p) => p.budgetMinutes))].sort((a, b) => a - b);
  const maxRatio = Math.max(4, ...points.map((p) => p.fdOverFloor));
  const ratioTicks = [1, 2, 4, 8, 16, 32, 64].filter((v) => v <= maxRatio * 1.1);
  // the legend: four recipes to a row under the panels
  const perRow = 4;
  const height = 262 + Math.ceil(recipes.length / perRow) * 20 + 4;
  const legend = recipes.map((r, i) => {
    const [x, y] = [20 + (i % perRow) * 175, 262 + Math.floor(i / perRow) * 20];
    return `<rect x="${x}" y="${y}" width="12" height="12" fill="${colours[i % colours.length]}"/><text x="${x + 16}" y="${y + 11}" font-size="12">${r}</text>`;
  }).join('\n');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="${height}" font-family="sans-serif">
<rect width="720" height="${height}" fill="#fff"/>
${panel(points, recipes, 0, 'Readable samples', 'confident (p ≥ 0.9)', (p) => p.confident, 1, [0, 0.2, 0.4, 0.6, 0.8, 1], (v) => `${Math.round(v * 100)} %`, undefined, { value: 0.8, label: 'goal 80 %' })}
${panel(points, recipes, 360, 'Distance to real data (log scale)', 'MNIST-FD / floor', (p) => p.fdOverFloor, maxRatio * 1.3, ratioTicks, (v) => `${v}×`, Math.log, { value: 4, label: 'goal 4×' })}
${legend}
</svg>
`;
  const known = new Map(qualityRecipes.map((r) => [r.name, r] as const));
  const lines = [
    '# Sample quality per minute of training',
    '',
    'Written by `npm run bench:quality` (scripts/bench-quality.ts) from `docs/quality.json`. Each row is one',
    '`scripts/train.ts` run whose step count was set from the recipe\'s measured step time to fill the budget,',
    'scored on 1,000 samples by `scripts/eval.ts` (the sampler and steps given). `fd` is the MNIST-FD',
    'against the 10,000 test images; `floor` is the same distance for 1,000 real training images, so',
    '`fd / floor` = 1 is as good as real data at this sample count. `confident` is the share of samples',
    'the shipped classifier reads with p ≥ 0.9; `coverage` the normalised entropy of its predicted classes.',
    '',
    '![quality against minutes of training](quality.svg)',
    '',
    '## Recipes',
    '',
    ...[...new Set(all.map((p) => p.recipe))].map((r) => `- \`${r}\`: ${known.get(r)?.description ?? '(no longer in the list)'}${known.has(r) ? ` — \`${(known.get(r) as QualityRecipe).train.join(' ')}\`` : ''}`),
    '',
  ];
  const table = (rows: readonly QualityPoint[]) => [
    '| recipe | steps | images | trained (min) | sampler | n | fd | floor | fd / floor | confident | coverage |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((p) => `| ${p.recipe}${p.note ? ' ¹' : ''} | ${p.steps} | ${p.images.toLocaleString('en-US')} | ${p.trainMinutes.toFixed(1)} | ${p.sampler} ${p.sampleSteps}${p.autoguidance !== undefined ? `, autoguidance ${p.autoguidance}${describeInterval(p.autoguidanceInterval ?? [0, 1])}` : ''} | ${p.n} | ${p.fd.toFixed(2)} | ${p.floorFd.toFixed(2)} | ${p.fdOverFloor.toFixed(2)}× | ${pct(p.confident)} | ${p.coverage.toFixed(3)} |`),
    '',
    ...rows.filter((p) => p.note).map((p) => `¹ ${p.recipe}, ${p.budgetMinutes} minutes: ${p.note}`),
    ...(rows.some((p) => p.note) ? [''] : []),
  ];
  for (const b of budgets) {
    const rows = main.filter((q) => q.budgetMinutes === b);
    if (rows.length > 0) lines.push(`## ${b} minutes`, '', ...table(rows));
  }
  if (search.length > 0) {
    lines.push('## Recipe search', '', 'Candidates compared at smaller cost (fewer samples, so their FD floor is higher): not comparable with the tables above except through fd / floor.', '', ...table(search));
  }
  return { markdown: `${lines.join('\n')}\n`, svg };
};

