/**
 * Self-contained weights files: a network's state dict with PyTorch names and, in the safetensors
 * metadata, the training config it was trained with (so that nothing beside it is needed) and, for
 * an autoguidance guide (`guide.safetensors`), the scale and interval it is recommended at. PyTorch's loaders
 * ignore the metadata, so such a file still loads with `load_state_dict`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { encodeSafetensors, type Tensors } from '../io/safetensors.ts';
import { entriesToSafetensors } from '../weights/safetensors.ts';
import type { Network, Weights } from './network.ts';
import type { TrainConfig } from './config.ts';

/** The metadata key under which a self-contained weights file carries its training config as JSON. */
export const CONFIG_METADATA_KEY = 'config';

/** The metadata key under which a guide's weights file carries its recommended autoguidance scale. */
export const GUIDE_SCALE_METADATA_KEY = 'guide_scale';

/** The metadata key under which a guide's weights file carries the interval it acts in (`LO,HI`, fractions of T). */
export const GUIDE_INTERVAL_METADATA_KEY = 'guide_interval';

/**
 * Where along the trajectory a guide acts: the diffusion times t/T in [lo, hi), 0 being clean
 * data and 1 pure noise, with 0 ≤ lo < hi ≤ 1. [0, 1] is everywhere.
 */
export type GuideInterval = readonly [lo: number, hi: number];

/** The whole trajectory: the guide acts at every step. */
export const WHOLE_TRAJECTORY: GuideInterval = [0, 1];

/** An interval as the flags and the metadata write it: `LO,HI`. */
export const formatGuideInterval = ([lo, hi]: GuideInterval): string => `${lo},${hi}`;

/** Whether an interval covers every step. */
export const isWholeTrajectory = (i: GuideInterval): boolean => i[0] <= 0 && i[1] >= 1;

/** For messages: nothing for the whole trajectory, else `, t/T in [LO, HI)`. */
export const describeInterval = (i: GuideInterval): string => (isWholeTrajectory(i) ? '' : `, t/T in [${i[0]}, ${i[1]})`);

/** `LO,HI` (fractions of T, 0 ≤ LO < HI ≤ 1) as an interval, or what is wrong with it. */
export const parseGuideInterval = (text: string): E.Either<string, GuideInterval> => {
  const parts = text.split(',').map((p) => p.trim());
  const [lo, hi] = parts.map(Number);
  return parts.length !== 2 || parts.some((p) => p === '') || !Number.isFinite(lo) || !Number.isFinite(hi)
    ? E.left(`expected two fractions of T as LO,HI (e.g. 0.5,1), got "${text}"`)
    : checkGuideInterval([lo, hi]);
};

/** The interval itself when 0 ≤ lo < hi ≤ 1, else what is wrong with it. */
export const checkGuideInterval = (i: GuideInterval): E.Either<string, GuideInterval> =>
  i[0] >= 0 && i[0] < i[1] && i[1] <= 1 ? E.right(i) : E.left(`a guide interval needs 0 ≤ LO < HI ≤ 1, got ${formatGuideInterval(i)}`);

/** The file a model, checkpoint or run keeps its autoguidance guide in. */
export const GUIDE_FILE = 'guide.safetensors';

/**
 * The name of the guide that goes with a weights file: guide.safetensors for a model folder's
 * model.safetensors, `X.guide.safetensors` for any other `X.safetensors` (the browser page's downloads).
 */
export const guideFileFor = (weightsName: string): string =>
  weightsName === 'model.safetensors' ? GUIDE_FILE : `${weightsName.replace(/\.safetensors$/, '')}.guide.safetensors`;

/** The step at which a run of `total` steps freezes its guide (`guideAt` of them; null: no guide). */
export const guideStepOf = (guideAt: number, total: number): number | null => (guideAt > 0 ? Math.max(1, Math.round(guideAt * total)) : null);

/** The log line of a run that has just frozen its guide. */
export const frozeGuideMessage = (step: number, fromEma: boolean, scale: number, interval: GuideInterval): string =>
  `step ${step}: froze the ${fromEma ? 'EMA ' : ''}weights as the run's autoguidance guide (scale ${scale}${describeInterval(interval)})`;

/** Float32 entries stored as float16 (`f16`) or left as they are. */
export const inDtype = (entries: Tensors, dtype: 'f16' | 'f32'): Tensors =>
  Object.fromEntries(Object.entries(entries).map(([name, e]) => [name, e.dtype === 'F32' && dtype === 'f16' ? { ...e, dtype: 'F16' } : e]));

/**
 * A guide's weights file: its state dict, its training config, and the scale and interval it is
 * recommended at.
 * The guide must be a model of the same data under the same diffusion as the model it guides
 * (`attachGuide` in src/pipeline checks).
 */
export const guideSafetensors = (
  net: Network, weights: Weights, config: TrainConfig, scale: number, dtype: 'f16' | 'f32' = 'f32', interval: GuideInterval = WHOLE_TRAJECTORY,
): Uint8Array =>
  encodeSafetensors(inDtype(entriesToSafetensors(net.stateDict(weights)), dtype), {
    format: 'pt', [CONFIG_METADATA_KEY]: JSON.stringify(config), [GUIDE_SCALE_METADATA_KEY]: String(scale),
    [GUIDE_INTERVAL_METADATA_KEY]: formatGuideInterval(interval),
  });
