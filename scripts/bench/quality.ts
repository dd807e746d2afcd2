/**
 * The recipes `npm run bench:quality` compares, and how its figures are rendered: a Markdown table
 * per budget and an SVG plot of quality against minutes of training.
 */

export interface QualityRecipe {
  readonly name: string;
  readonly description: string;
  /** scripts/train.ts flags (the bench adds --steps, --out and turns the grids off) */
  readonly train: readonly string[];
  /** how the run is sampled for scoring */
  readonly sampler: 'ddpm' | 'ddim' | 'dpmpp2m';
  readonly sampleSteps: number;
}

export const qualityRecipes: readonly QualityRecipe[] = [
  {
    name: 'old-quick',
    description: 'the default before the retune: tiny U-Net (118k), batch 32, constant Adam 2e-3, EMA 0.995, cosine T = 400, ε',
    train: ['--preset', 'quick', '--network', 'tiny', '--batch', '32', '--lr', '2e-3', '--warmup', '0', '--lr-decay', 'constant', '--ema', '0.995', '--objective', 'eps', '--min-snr', '0'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 'w24',
    description: 'U-Net base 24, levels [1, 2, 2] (attention at 7×7), 464k parameters; batch 32, Adam 2e-3 with 200 warm-up steps and cosine decay, EMA 0.999, cosine T = 400, ε',
    train: ['--preset', 'quick', '--network', 'tiny', '--network-json', '{"baseChannels":24,"channelMults":[1,2,2],"timeDim":96}', '--batch', '32', '--lr', '2e-3', '--warmup', '200', '--lr-decay', 'cosine', '--ema', '0.999', '--objective', 'eps', '--min-snr', '0'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 'w32',
    description: 'U-Net base 32, levels [1, 2, 2] (attention at 7×7), 822k parameters; batch 32, Adam 2e-3 with 200 warm-up steps and cosine decay, EMA 0.999, cosine T = 400, ε',
    train: ['--preset', 'quick', '--network', 'tiny', '--network-json', '{"baseChannels":32,"channelMults":[1,2,2],"timeDim":128}', '--batch', '32', '--lr', '2e-3', '--warmup', '200', '--lr-decay', 'cosine', '--ema', '0.999', '--objective', 'eps', '--min-snr', '0'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 't3',
    description: 'U-Net base 16, levels [1, 2, 2] (attention at 7×7), 208k parameters; batch 32, Adam 2e-3 with 200 warm-up steps and cosine decay, EMA 0.999, cosine T = 400, ε',
    train: ['--preset', 'quick', '--network', 'tiny', '--network-json', '{"baseChannels":16,"channelMults":[1,2,2],"timeDim":64}', '--batch', '32', '--lr', '2e-3', '--warmup', '200', '--lr-decay', 'cosine', '--ema', '0.999', '--objective', 'eps', '--min-snr', '0'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 'w24-v',
    description: 'w24 predicting v instead of ε',
    train: ['--preset', 'quick', '--network', 'tiny', '--network-json', '{"baseChannels":24,"channelMults":[1,2,2],"timeDim":96}', '--batch', '32', '--lr', '2e-3', '--warmup', '200', '--lr-decay', 'cosine', '--ema', '0.999', '--objective', 'v', '--min-snr', '0'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 'w24-snr',
    description: 'w24 with min-SNR-5 loss weighting',
    train: ['--preset', 'quick', '--network', 'tiny', '--network-json', '{"baseChannels":24,"channelMults":[1,2,2],"timeDim":96}', '--batch', '32', '--lr', '2e-3', '--warmup', '200', '--lr-decay', 'cosine', '--ema', '0.999', '--objective', 'eps', '--min-snr', '5'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 'w24-v-snr',
    description: 'w24 predicting v, with min-SNR-5 loss weighting',
    train: ['--preset', 'quick', '--network', 'tiny', '--network-json', '{"baseChannels":24,"channelMults":[1,2,2],"timeDim":96}', '--batch', '32', '--lr', '2e-3', '--warmup', '200', '--lr-decay', 'cosine', '--ema', '0.999', '--objective', 'v', '--min-snr', '5'],
    sampler: 'ddpm', sampleSteps: 100,
  },
  {
    name: 'quick',
    description: 'the default preset (see src/train/config.ts)',
    train: ['--preset', 'quick'],
    sampler: 'ddpm', sampleSteps: 100,
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
  readonly samplingSeconds: number;
  readonly n: number;
  readonly fd: number;
  readonly floorFd: number;
  readonly fdOverFloor: number;
  readonly confident: number;
  readonly coverage: number;
  readonly date: string;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** One panel of the plot: y(minutes) per recipe, with ticks, axis titles and a title. */
const panel = (
  points: readonly QualityPoint[], recipes: readonly string[], x0: number, title: string, yTitle: string,
  y: (p: QualityPoint) => number, yMax: number, yTicks: readonly number[], tickLabel: (v: number) => string,
): string => {
  const w = 360;
  const h = 240;
  const left = x0 + 56;
  const right = x0 + w - 16;
  const top = 36;
  const bottom = h - 44;
  const xMax = Math.max(...points.map((p) => p.trainMinutes), 1) * 1.08;
  const px = (m: number) => left + ((right - left) * m) / xMax;
  const py = (v: number) => bottom - ((bottom - top) * Math.min(v, yMax)) / yMax;
  const xTicks = [0, 5, 10, 15, 20, 25, 30, 40, 60].filter((m) => m <= xMax);
  const parts = [
    `<text x="${(left + right) / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#000"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#000"/>`,
    ...xTicks.map((m) => `<line x1="${px(m)}" y1="${bottom}" x2="${px(m)}" y2="${bottom + 4}" stroke="#000"/><text x="${px(m)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${m}</text>`),
    ...yTicks.map((v) => `<line x1="${left - 4}" y1="${py(v)}" x2="${right}" y2="${py(v)}" stroke="#ddd"/><text x="${left - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${tickLabel(v)}</text>`),
    `<text x="${(left + right) / 2}" y="${h - 8}" text-anchor="middle" font-size="12">minutes of training</text>`,
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

export const renderQuality = (points: readonly QualityPoint[]): { readonly markdown: string; readonly svg: string } => {
  const recipes = [...new Set(points.map((p) => p.recipe))];
  const budgets = [...new Set(points.map((p) => p.budgetMinutes))].sort((a, b) => a - b);
  const maxRatio = Math.max(4, ...points.map((p) => p.fdOverFloor));
  const ratioTicks = [1, 2, 4, 8, 16, 32, 64].filter((v) => v <= maxRatio * 1.1);
  const legend = recipes.map((r, i) => `<rect x="${20 + i * 150}" y="262" width="12" height="12" fill="${colours[i % colours.length]}"/><text x="${36 + i * 150}" y="273" font-size="12">${r}</text>`).join('\n');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="284" font-family="sans-serif">
<rect width="720" height="284" fill="#fff"/>
${panel(points, recipes, 0, 'Readable samples', 'confident (p ≥ 0.9)', (p) => p.confident, 1, [0, 0.2, 0.4, 0.6, 0.8, 1], (v) => `${Math.round(v * 100)} %`)}
${panel(points, recipes, 360, 'Distance to real data', 'MNIST-FD / floor', (p) => p.fdOverFloor, maxRatio * 1.1, ratioTicks, (v) => `${v}×`)}
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
    ...recipes.map((r) => `- \`${r}\`: ${known.get(r)?.description ?? '(no longer in the list)'}${known.has(r) ? ` — \`${(known.get(r) as QualityRecipe).train.join(' ')}\`` : ''}`),
    '',
  ];
  for (const b of budgets) {
    lines.push(`## ${b} minutes`, '', '| recipe | steps | images | trained (min) | sampler | fd | floor | fd / floor | confident | coverage |', '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|');
    for (const p of points.filter((q) => q.budgetMinutes === b)) {
      lines.push(`| ${p.recipe} | ${p.steps} | ${p.images.toLocaleString('en-US')} | ${p.trainMinutes.toFixed(1)} | ${p.sampler} ${p.sampleSteps} | ${p.fd.toFixed(2)} | ${p.floorFd.toFixed(2)} | ${p.fdOverFloor.toFixed(2)}× | ${pct(p.confident)} | ${p.coverage.toFixed(3)} |`);
    }
    lines.push('');
  }
  return { markdown: `${lines.join('\n')}\n`, svg };
};

