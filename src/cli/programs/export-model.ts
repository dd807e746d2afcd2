/**
 * Turns a training run into a model folder to ship or share:
 * `diffusion-ts export-model --checkpoint runs/mnist --out assets/ddpm-mnist [--eval eval.json]`
 * writes `model.safetensors` (the EMA weights when the run has them, float16 by default, PyTorch
 * names: `load_state_dict(strict=True)` takes it after `.float()`), `config.json` (the run's training
 * config, which sample.ts and eval.ts read beside the weights) and `MODEL_CARD.md` (how it was
 * trained: command, minutes, images seen; and the evaluator's figures from `--eval FILE`, the JSON
 * that scripts/eval.ts printed for this checkpoint). `--help` lists the flags.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { encodeSafetensors } from '../../io/safetensors.ts';
import { writeFileAtomic } from '../../io/files.ts';
import { network } from '../../train/network.ts';
import { entriesToSafetensors, loadCheckpoint } from '../../train/checkpoint.ts';
import { loadDiffusionModel } from '../../pipeline/load.ts';
import { attachGuide, type DiffusionModel, GUIDE_FILE, guideSafetensors } from '../../pipeline/model.ts';
import { describeInterval, inDtype, isWholeTrajectory, parseGuideInterval } from '../../train/guide-file.ts';
import { exportModelCommand } from '../commands.ts';
import { cli, scriptLauncher } from '../cli.ts';
import { exits } from '../exits.ts';

const { die } = exits('export-model');

const exportModel = async (argv: readonly string[], launcher: string): Promise<void> => {
  const { values: flags } = cli(exportModelCommand, argv, launcher);
  const { checkpoint: from, out, dtype } = flags;
  const ck = await loadCheckpoint(from, (c) => network(c.network)).catch((e: Error) => die(e.message));
  const net = network(ck.config.network);
  const useEma = !flags['no-ema'] && ck.ema !== null;
  const weights = useEma ? (ck.ema as typeof ck.weights) : ck.weights;
  const tensors = inDtype(entriesToSafetensors(net.stateDict(weights)), dtype as 'f16' | 'f32');
  // the guide: --guide's folder at --guide-scale, else the one the run froze (train --guide-at), if any, at its own scale and interval unless given
  const guidePath = flags.guide;
  const askedScale = flags['guide-scale'];
  if (askedScale !== undefined && guidePath === undefined && ck.guide === null) die('--guide-scale: goes with --guide (or a run that froze a guide)');
  if (askedScale !== undefined && !(Number.isFinite(askedScale) && askedScale >= 0)) die(`--guide-scale: expected a finite number ≥ 0, got ${askedScale}`);
  const askedInterval = flags['guide-interval'] === undefined ? undefined
    : E.getOrElseW((why: string) => die(`--guide-interval: ${why}`))(parseGuideInterval(flags['guide-interval']));
  if (askedInterval !== undefined && guidePath === undefined && ck.guide === null) die('--guide-interval: goes with --guide (or a run that froze a guide)');
  const self: DiffusionModel = {
    net, weights, ema: useEma, schedule: ck.config.schedule, objective: ck.config.objective, size: ck.config.imageSize, training: ck.config,
  };
  const guided = guidePath !== undefined
    ? await loadDiffusionModel(guidePath, { noGuide: true }).then((g) => {
      const scale = askedScale ?? die('--guide: give its scale with --guide-scale W');
      const m = attachGuide(self, g, scale, guidePath, askedInterval);
      return E.isLeft(m) ? die(m.left.message) : m.right;
    }, (e: Error) => die(e.message))
    : ck.guide ? { ...self, guide: { net, weights: ck.guide, scale: askedScale ?? ck.config.guideScale, interval: askedInterval ?? ck.config.guideInterval, training: ck.config } } : self;
  const guide = guided.guide;
  mkdirSync(out, { recursive: true });
  const write = async (file: string, bytes: Uint8Array | string) => {
    const r = await writeFileAtomic(join(out, file), typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes)();
    if (E.isLeft(r)) die(r.left.message);
  };
  await write('model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
  await write('config.json', `${JSON.stringify({ ...ck.config, out: '.' }, null, 2)}\n`);
  // the guide carries its own config; one without (bare weights) is described by the model's, whose diffusion it shares
  if (guide) await write(GUIDE_FILE, guideSafetensors(guide.net, guide.weights, { ...(guide.training ?? { ...ck.config, network: guide.net.config }), out: '.' }, guide.scale, dtype as 'f16' | 'f32', guide.interval));
  const evalPath = flags.eval;
  const figures = evalPath ? JSON.parse(readFileSync(evalPath, 'utf8')) as Record<string, unknown> : null;
  // a warm restart (train --init-from): the run it started from, one level back, for the card's totals
  const parent = ck.config.initFrom === null ? null
    : await loadCheckpoint(ck.config.initFrom, (c) => network(c.network)).catch(() => null);
  const params = net.stateDict(ck.weights).reduce((s, [, v]) => s + ('shape' in v ? v.shape.reduce((a, b) => a * b, 1) : 0), 0);
  const c = ck.config;
  const lines = [
    `# ${flags.title ?? `DDPM on ${c.dataset}`}`,
    '',
    `A denoising diffusion model trained with this library (diffusion-ts) on ${c.dataset} at ${c.imageSize}×${c.imageSize}.`,
    '',
    '## Files',
    '',
    `- \`model.safetensors\`: the ${useEma ? 'EMA' : 'raw'} weights in ${dtype === 'f16' ? 'float16' : 'float32'}, PyTorch state-dict names: \`model.load_state_dict(safetensors.torch.load_file(path), strict=True)\` takes them.`,
    '- `config.json`: the training config (network, schedule, objective); sample.ts and eval.ts read it beside the weights.',
    ...(guide ? [
      `- \`${GUIDE_FILE}\`: a weaker model of the same data${guidePath ? ` (\`${guidePath}\`)` : ' (the run\'s EMA weights frozen part-way)'}, for autoguidance (Karras et al. 2024): sampling uses guide + w·(model − guide) with w = ${guide.scale}${!isWholeTrajectory(guide.interval) ? ` at the diffusion times t/T in [${guide.interval[0]}, ${guide.interval[1]}) (the model alone elsewhere)` : ''} by default; \`--autoguidance 1\` samples the model alone. Its training config is in its metadata.`,
    ] : []),
    '',
    '## Training',
    '',
    `- network: ${c.network.kind === 'unet' ? `U-Net ${JSON.stringify(c.network.unet)}` : `SimpleUnet ${JSON.stringify(c.network.simple)}`}, ${params.toLocaleString('en-US')} parameters`,
    `- diffusion: ${c.schedule.kind} schedule, T = ${c.schedule.T}, objective ${c.objective}${c.minSnr > 0 ? `, min-SNR-${c.minSnr}` : ''}`,
    `- optimiser: Adam, lr ${c.lr}, ${c.warmup} warm-up steps, ${c.lrDecay} decay; batch ${c.batch}; EMA ${c.ema}`,
    `- ${ck.state.step.toLocaleString('en-US')} steps, ${(ck.state.step * c.batch).toLocaleString('en-US')} images seen (${((ck.state.step * c.batch) / 60000).toFixed(1)} epochs of 60,000)`,
    `- ${(ck.state.elapsedSec / 60).toFixed(0)} minutes of training on the ${c.backend} backend (2-core x64 VM)`,
    ...(flags.command ? [`- command: \`${flags.command}\``] : []),
    ...(c.initFrom === null ? [] : parent === null
      ? [`- started from the weights and EMA of \`${c.initFrom}\` (train --init-from; that run is not counted above, and it could not be read here)`]
      : [
        `- started from the weights and EMA of \`${c.initFrom}\` (train --init-from: a fresh optimizer and learning-rate schedule), itself ${parent.state.step.toLocaleString('en-US')} steps of batch ${parent.config.batch}, ${(parent.state.step * parent.config.batch).toLocaleString('en-US')} images in ${(parent.state.elapsedSec / 60).toFixed(0)} minutes`,
        `- in all: ${(ck.state.step * c.batch + parent.state.step * parent.config.batch).toLocaleString('en-US')} images seen, ${((ck.state.elapsedSec + parent.state.elapsedSec) / 60).toFixed(0)} minutes of training`,
      ]),
    '',
  ];
  if (figures) {
    const f = figures as { command: string; n: number; fd: number; floor: { fd: number; confident: number }; fdOverFloor: number; confident: number; coverage: number; accuracy?: number; sampler?: string; steps?: number; guidance?: number; autoguidance?: number; autoguidanceInterval?: [number, number]; perClass?: { label: number; accuracy: number }[] };
    const how = [`${f.steps} ${f.sampler} steps`, ...(f.guidance !== undefined ? [`guidance ${f.guidance}`] : []), ...(f.autoguidance !== undefined ? [`autoguidance ${f.autoguidance}${describeInterval(f.autoguidanceInterval ?? [0, 1])}`] : [])].join(', ');
    lines.push('## Sample quality', '', `Measured by \`${f.command}\`${f.sampler ? ` (${how})` : ''} on ${f.n.toLocaleString('en-US')} samples:`, '',
      `| ${c.dataset === 'fashion-mnist' ? 'FD (Fashion-MNIST classifier)' : 'MNIST-FD'} | real-data floor | FD / floor | confident (p ≥ 0.9) | real data confident | coverage |` + (f.accuracy !== undefined ? ' class accuracy |' : ''),
      '|---:|---:|---:|---:|---:|---:|' + (f.accuracy !== undefined ? '---:|' : ''),
      `| ${f.fd.toFixed(2)} | ${f.floor.fd.toFixed(2)} | ${f.fdOverFloor}× | ${(100 * f.confident).toFixed(1)} % | ${(100 * f.floor.confident).toFixed(1)} % | ${f.coverage.toFixed(3)} |` + (f.accuracy !== undefined ? ` ${(100 * f.accuracy).toFixed(1)} % |` : ''),
      '');
    if (f.perClass) {
      lines.push('Per class (share drawn as the class asked for):', '', `| ${f.perClass.map((p) => p.label).join(' | ')} |`, `|${f.perClass.map(() => '---:').join('|')}|`, `| ${f.perClass.map((p) => `${(100 * p.accuracy).toFixed(1)} %`).join(' | ')} |`, '');
    }
  }
  await write('MODEL_CARD.md', `${lines.join('\n').trimEnd()}\n`);
  console.error(`export-model: wrote ${out}/model.safetensors (${useEma ? 'EMA' : 'raw'}, ${dtype}), config.json, ${guide ? `${GUIDE_FILE} (scale ${guide.scale}${describeInterval(guide.interval)}), ` : ''}MODEL_CARD.md`);
};

/** The `export-model` command: `diffusion-ts export-model …`, or `npx tsx scripts/export-model.ts …` from a checkout (the launcher its help shows). */
export const main = (argv: readonly string[], launcher = scriptLauncher('export-model')): Promise<void> =>
  exportModel(argv, launcher).catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
