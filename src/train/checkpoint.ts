/**
 * Checkpoints. A run folder holds `checkpoints/step-NNNNNNN/` folders and `latest.json`, which names
 * the newest complete one. A checkpoint is written into a temporary folder, fsynced file by file,
 * renamed into place, and only then does `latest.json` (itself written atomically) point to it, so
 * a crash at any moment leaves the previous checkpoint readable.
 *
 * Inside a checkpoint folder:
 * - `model.safetensors`: the network's state dict with PyTorch's names and layouts
 *   (`load_state_dict(strict=True)` takes it); `num_batches_tracked` as int64 scalars;
 * - `ema.safetensors`: the EMA weights, same names (when EMA is on);
 * - `optimizer.safetensors`: Adam's moments as `m.<name>` and `v.<name>`;
 * - `guide.safetensors`: the EMA weights frozen part-way as the run's autoguidance guide (`guideAt`),
 *   with its config and scale in its metadata, once the run has passed that step;
 * - `config.json`: the training config; `state.json`: step, optimizer step, PRNG key, timings.
 */
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Tensor } from '../tensor/tensor.ts';
import { tensor } from '../ops/create.ts';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.ts';
import { writeFileAtomic } from '../io/files.ts';
import { decodeWith } from '../codec/codec.ts';
import type { StateDictEntry } from '../layers/state-dict.ts';
import { flattenTree, mapTree } from '../grad/tree.ts';
import { loadWeights } from './load-weights.ts';
import { entriesToSafetensors, safetensorsToEntries } from '../weights/safetensors.ts';
import type { Network, Weights } from './network.ts';
import { decodeSavedConfig, type TrainConfig } from './config.ts';
import { GUIDE_FILE, guideSafetensors } from './guide-file.ts';

// ---- state dicts ↔ safetensors (defined in src/weights, where eval reads weights too) -------------

export { entriesToSafetensors, safetensorsToEntries };

export { loadWeights } from './load-weights.ts';

// ---- run state --------------------------------------------------------------------------------

export const RunState = t.type({
  step: t.number,
  optimizerStep: t.number,
  key: t.unknown,
  elapsedSec: t.number,
  losses: t.array(t.number),
}, 'RunState');
export type RunState = t.TypeOf<typeof RunState>;

export interface Checkpoint {
  readonly config: TrainConfig;
  readonly weights: Weights;
  readonly ema: Weights | null;
  readonly moments: { readonly m: unknown; readonly v: unknown } | null;
  readonly state: RunState;
  /** the run's autoguidance guide, once frozen (config.guideAt); absent or null: none yet */
  readonly guide?: Weights | null;
}

const stepDir = (step: number): string => `step-${String(step).padStart(7, '0')}`;

const json = (u: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(u, null, 2)}\n`);

const run = async <A>(te: () => Promise<E.Either<Error, A>>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

/** Writes a checkpoint of `runDir` atomically and keeps the newest `keep` ones. Returns its folder. */
export const saveCheckpoint = async (runDir: string, net: Network, ck: Checkpoint, keep = 2): Promise<string> => {
  const root = join(runDir, 'checkpoints');
  await mkdir(root, { recursive: true });
  const name = stepDir(ck.state.step);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const write = (file: string, bytes: Uint8Array) => run(writeFileAtomic(join(tmp, file), bytes));
  await write('model.safetensors', encodeSafetensors(entriesToSafetensors(net.stateDict(ck.weights)), { format: 'pt' }));
  if (ck.ema) await write('ema.safetensors', encodeSafetensors(entriesToSafetensors(net.stateDict(ck.ema)), { format: 'pt' }));
  if (ck.moments) {
    const named: StateDictEntry[] = [
      ...flattenTree(ck.moments.m).map(([n, v]): StateDictEntry => [`m.${n}`, v]),
      ...flattenTree(ck.moments.v).map(([n, v]): StateDictEntry => [`v.${n}`, v]),
    ];
    await write('optimizer.safetensors', encodeSafetensors(entriesToSafetensors(named)));
  }
  if (ck.guide) await write(GUIDE_FILE, guideSafetensors(net, ck.guide, ck.config, ck.config.guideScale, 'f32', ck.config.guideInterval));
  await write('config.json', json(ck.config));
  await write('state.json', json(ck.state));
  const final = join(root, name);
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  await run(writeFileAtomic(join(runDir, 'latest.json'), json({ checkpoint: join('checkpoints', name), step: ck.state.step })));
  const old = (await readdir(root)).filter((d) => d.startsWith('step-') && d !== name).sort();
  for (const d of old.slice(0, Math.max(0, old.length - (keep - 1)))) await rm(join(root, d), { recursive: true, force: true });
  return final;
};

/** The checkpoint folder a run folder's latest.json names (or the folder itself if it is a checkpoint). */
export const resolveCheckpointDir = async (dir: string): Promise<string> => {
  const latest = join(dir, 'latest.json');
  const has = await stat(latest).then(() => true, () => false);
  if (!has) return dir;
  const parsed = JSON.parse(await readFile(latest, 'utf8')) as { checkpoint?: unknown };
  if (typeof parsed.checkpoint !== 'string') throw new Error(`${latest}: no "checkpoint" entry`);
  return join(dir, parsed.checkpoint);
};

const readJson = async (path: string): Promise<unknown> => {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
};

/** Reads everything needed to resume or sample: config, weights, EMA, optimizer moments, run state. */
export const loadCheckpoint = async (dir: string, makeNet: (c: TrainConfig) => Network): Promise<Checkpoint> => {
  const ckDir = await resolveCheckpointDir(dir);
  const cfg = decodeSavedConfig(join(ckDir, 'config.json'), await readJson(join(ckDir, 'config.json')));
  if (E.isLeft(cfg)) throw cfg.left;
  const st = decodeWith(`${join(ckDir, 'state.json')}`)(RunState, await readJson(join(ckDir, 'state.json')));
  if (E.isLeft(st)) throw st.left;
  const net = makeNet(cfg.right);
  const weightsFrom = async (file: string): Promise<Weights> => {
    const w = loadWeights(net, new Uint8Array(await readFile(join(ckDir, file))), join(ckDir, file));
    if (E.isLeft(w)) throw w.left;
    return w.right;
  };
  const weights = await weightsFrom('model.safetensors');
  const hasEma = await stat(join(ckDir, 'ema.safetensors')).then(() => true, () => false);
  const ema = hasEma ? await weightsFrom('ema.safetensors') : null;
  const guide = (await stat(join(ckDir, GUIDE_FILE)).then(() => true, () => false)) ? await weightsFrom(GUIDE_FILE) : null;
  let moments: Checkpoint['moments'] = null;
  const optPath = join(ckDir, 'optimizer.safetensors');
  if (await stat(optPath).then(() => true, () => false)) {
    const decoded = decodeSafetensors(new Uint8Array(await readFile(optPath)));
    if (E.isLeft(decoded)) throw new Error(`${optPath}: ${decoded.left.message}`);
    const byName = new Map<string, Tensor>();
    for (const [n, e] of Object.entries(decoded.right.tensors)) byName.set(n, tensor(e.data as Float32Array, e.shape));
    const like = (prefix: string) => {
      const names = flattenTree(weights.params).map(([n]) => n);
      const missing = names.find((n) => !byName.has(`${prefix}.${n}`));
      if (missing) throw new Error(`${optPath}: no moment "${prefix}.${missing}"`);
      return mapTree(weights.params, (_, n) => byName.get(`${prefix}.${n}`) as Tensor);
    };
    moments = { m: like('m'), v: like('v') };
  }
  return { config: cfg.right, weights, ema, moments, state: st.right, guide };
};
