/**
 * A trained diffusion model from disk, for the scripts that sample from one: a run folder, a
 * checkpoint folder, or a bare `.safetensors` weights file (with a config.json beside it, or a
 * named network, in which case the reference preset's diffusion settings apply: linear β,
 * T = 1000, ε-prediction). The same rules as scripts/sample.ts's loader.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import type { ScheduleConfig } from '../../src/ddpm/schedule.ts';
import type { Objective } from '../../src/ddpm/objectives.ts';
import { namedNetworks, network, type Network, type NetworkConfig, type Weights } from '../../src/train/network.ts';
import { decodeSavedConfig, presets } from '../../src/train/config.ts';
import { loadCheckpoint, loadWeights } from '../../src/train/checkpoint.ts';

/** The models this repository ships (scripts/export-model.ts folders), for sampling without training first. */
export const shippedModels = {
  /** unconditional MNIST */
  mnist: fileURLToPath(new URL('../../assets/ddpm-mnist/model.safetensors', import.meta.url)),
  /** class-conditional MNIST (classifier-free guidance) */
  'mnist-cond': fileURLToPath(new URL('../../assets/ddpm-mnist-cond/model.safetensors', import.meta.url)),
} as const;

export interface DiffusionModel {
  readonly net: Network;
  readonly weights: Weights;
  readonly schedule: ScheduleConfig;
  readonly objective: Objective;
  /** the image side the network was trained at */
  readonly size: number;
  /** whether `weights` are the EMA weights */
  readonly ema: boolean;
  /** the dataset it was trained on, when its config says */
  readonly dataset?: string;
}

export interface LoadOptions {
  /** for a bare weights file without config.json: one of namedNetworks */
  readonly network?: string;
  /** the raw weights even when EMA weights exist */
  readonly noEma?: boolean;
}

const fromWeightsFile = (path: string, netName: string | undefined): DiffusionModel => {
  const cfgPath = join(dirname(path), 'config.json');
  let netCfg: NetworkConfig;
  let schedule: ScheduleConfig = presets.reference.schedule;
  let size = 28;
  let objective: Objective = 'eps';
  let dataset: string | undefined;
  if (existsSync(cfgPath) && !netName) {
    const c = decodeSavedConfig(cfgPath, JSON.parse(readFileSync(cfgPath, 'utf8')));
    if (E.isLeft(c)) throw c.left;
    ({ network: netCfg, schedule, imageSize: size, objective } = c.right);
    dataset = c.right.dataset;
  } else {
    const names = Object.keys(namedNetworks).join(', ');
    if (!netName) throw new Error(`${path} has no config.json beside it: say which network it is with --network (${names})`);
    const n = namedNetworks[netName];
    if (!n) throw new Error(`unknown network "${netName}": expected one of ${names}`);
    netCfg = n;
    size = n.kind === 'simple' ? 32 : 28;
  }
  const net = network(netCfg);
  const w = loadWeights(net, new Uint8Array(readFileSync(path)), path);
  if (E.isLeft(w)) throw w.left;
  return { net, weights: w.right, schedule, size, objective, ema: false, dataset };
};

/** Loads a model (throws with the path in the message when something does not fit). */
export const loadDiffusionModel = async (path: string, opts: LoadOptions = {}): Promise<DiffusionModel> => {
  if (extname(path) === '.safetensors') return fromWeightsFile(path, opts.network);
  const ck = await loadCheckpoint(path, (c) => network(c.network));
  const useEma = !opts.noEma && ck.ema !== null;
  return {
    net: network(ck.config.network), weights: useEma ? (ck.ema as Weights) : ck.weights,
    schedule: ck.config.schedule, size: ck.config.imageSize, objective: ck.config.objective, ema: useEma, dataset: ck.config.dataset,
  };
};
