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
import { encodeSafetensors, type Tensors } from '../../io/safetensors.ts';
import { writeFileAtomic } from '../../io/files.ts';
import { network } from '../../train/network.ts';
import { entriesToSafetensors, loadCheckpoint } from '../../train/checkpoint.ts';
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
  const entries = entriesToSafetensors(net.stateDict(useEma ? (ck.ema as typeof ck.weights) : ck.weights));
  const tensors: Tensors = Object.fromEntries(Object.entries(entries).map(([name, e]) => [name, e.dtype === 'F32' && dtype === 'f16' ? { ...e, dtype: 'F16' } : e]));
  mkdirSync(out, { recursive: true });
  const write = async (file: string, bytes: Uint8Array | string) => {
    const r = await writeFileAtomic(join(out, file), typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes)();
    if (E.isLeft(r)) die(r.left.message);
  };
  await write('model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
  await write('config.json', `${JSON.stringify({ ...ck.config, out: '.' }, null, 2)}\n`);
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
    const f = figures as { command: string; n: number; fd: number; floor: { fd: number; confident: number }; fdOverFloor: number; confident: number; coverage: number; accuracy?: number; sampler?: string; steps?: number; guidance?: number; perClass?: { label: number; accuracy: number }[] };
    lines.push('## Sample quality', '', `Measured by \`${f.command}\`${f.sampler ? ` (${f.steps} ${f.sampler} steps${f.guidance !== undefined ? `, guidance ${f.guidance}` : ''})` : ''} on ${f.n.toLocaleString('en-US')} samples:`, '',
      '| MNIST-FD | real-data floor | FD / floor | confident (p ≥ 0.9) | real data confident | coverage |' + (f.accuracy !== undefined ? ' class accuracy |' : ''),
      '|---:|---:|---:|---:|---:|---:|' + (f.accuracy !== undefined ? '---:|' : ''),
      `| ${f.fd.toFixed(2)} | ${f.floor.fd.toFixed(2)} | ${f.fdOverFloor}× | ${(100 * f.confident).toFixed(1)} % | ${(100 * f.floor.confident).toFixed(1)} % | ${f.coverage.toFixed(3)} |` + (f.accuracy !== undefined ? ` ${(100 * f.accuracy).toFixed(1)} % |` : ''),
      '');
    if (f.perClass) {
      lines.push('Per class (share drawn as the class asked for):', '', `| ${f.perClass.map((p) => p.label).join(' | ')} |`, `|${f.perClass.map(() => '---:').join('|')}|`, `| ${f.perClass.map((p) => `${(100 * p.accuracy).toFixed(1)} %`).join(' | ')} |`, '');
    }
  }
  await write('MODEL_CARD.md', `${lines.join('\n').trimEnd()}\n`);
  console.error(`export-model: wrote ${out}/model.safetensors (${useEma ? 'EMA' : 'raw'}, ${dtype}), config.json, MODEL_CARD.md`);
};

/** The `export-model` command: `diffusion-ts export-model …`, or `npx tsx scripts/export-model.ts …` from a checkout (the launcher its help shows). */
export const main = (argv: readonly string[], launcher = scriptLauncher('export-model')): Promise<void> =>
  exportModel(argv, launcher).catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
