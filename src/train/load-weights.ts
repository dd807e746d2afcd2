/**
 * A network's weights from safetensors bytes, with no file system: what checkpoints, exported models
 * and the browser page all read.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeSafetensors } from '../io/safetensors.ts';
import { safetensorsToEntries } from '../weights/safetensors.ts';
import type { Network, Weights } from './network.ts';

/** Reads a network's weights from safetensors bytes: the header is validated, then names and shapes against the network. */
export const loadWeights = (net: Network, bytes: Uint8Array, what: string): E.Either<Error, Weights> => {
  const decoded = decodeSafetensors(bytes);
  if (E.isLeft(decoded)) return E.left(new Error(`${what}: ${decoded.left.message}`));
  const entries = safetensorsToEntries(decoded.right.tensors);
  if (E.isLeft(entries)) return E.left(new Error(`${what}: ${entries.left.message}`));
  const w = net.load(entries.right);
  return E.isLeft(w) ? E.left(new Error(`${what}: ${w.left.message}`)) : E.right(w.right);
};
