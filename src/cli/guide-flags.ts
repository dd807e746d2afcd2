/** `--autoguidance W` and `--autoguidance-interval LO,HI` of sample.ts and eval.ts → the guide to draw with, or the one line naming the flag that does not fit. */
import * as E from 'fp-ts/lib/Either.js';
import type { DiffusionModel } from '../pipeline/model.ts';
import { autoguide } from '../pipeline/pipeline.ts';
import { parseGuideInterval } from '../train/guide-file.ts';

/** The guide, scale and interval (fractions of T) to draw with, or undefined for none. */
export const chooseGuide = (
  model: DiffusionModel,
  flags: { readonly autoguidance?: number; readonly 'autoguidance-interval'?: string },
  classifierFree: number,
  die: (msg: string) => never,
) => {
  const text = flags['autoguidance-interval'];
  const interval = text === undefined ? undefined : E.getOrElseW((why: string) => die(`--autoguidance-interval: ${why}`))(parseGuideInterval(text));
  const flag = flags.autoguidance === undefined && text !== undefined ? '--autoguidance-interval' : '--autoguidance';
  return E.getOrElseW((why: string) => die(`${flag}: ${why}`))(autoguide(model, flags.autoguidance, classifierFree, interval));
};
