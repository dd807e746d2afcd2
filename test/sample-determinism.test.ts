/**
 * scripts/sample.ts on a bare weights file (no config.json: the reference preset's linear β,
 * T = 1000, ε-prediction apply) with a given x_T and deterministic DDIM is a function of its inputs:
 * the same command twice gives the same bytes, and every CPU backend gives the same images within 1e-4.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../src/io/npy.ts';
import { encodeSafetensors } from '../src/io/safetensors.ts';
import { entriesToSafetensors } from '../src/train/checkpoint.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { withBackend } from '../src/tensor/engine.ts';
import { createPlainBackend } from '../src/tensor/plain/index.ts';
import * as R from '../src/tensor/random.ts';

const tsx = join('node_modules', '.bin', 'tsx');

describe('sample.ts --checkpoint FILE.safetensors --network mnist32 --noise x.npy --sampler ddim --eta 0 --no-clip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sample-det-'));
  const weights = join(dir, 'model.safetensors');
  const noise = join(dir, 'xT.npy');
  withBackend(createPlainBackend(), () => {
    const net = network(namedNetworks.mnist32);
    writeFileSync(weights, encodeSafetensors(entriesToSafetensors(net.stateDict(net.init(R.key(3))))));
  });
  writeFileSync(noise, encodeNpy(R.normal(R.key(4), 2 * 28 * 28), [2, 1, 28, 28]));

  const sample = (backend: string, out: string): Float32Array => {
    const r = spawnSync(tsx, ['scripts/sample.ts', '--checkpoint', weights, '--network', 'mnist32', '--noise', noise,
      '--sampler', 'ddim', '--eta', '0', '--no-clip', '--steps', '3', '--backend', backend, '--out', join(dir, out)],
    { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const y = decodeNpy(new Uint8Array(readFileSync(join(dir, out))));
    if (E.isLeft(y)) throw y.left;
    expect(y.right.shape).toEqual([2, 1, 28, 28]);
    return y.right.data as Float32Array;
  };

  it('is deterministic and agrees across the fast, plain and gpujs-cpu backends within 1e-4', () => {
    const fast = sample('fast', 'fast.npy');
    expect(sample('fast', 'fast2.npy')).toEqual(fast);
    // a checkpoint with random weights still moves x_T: the output is not the input
    const xT = R.normal(R.key(4), 2 * 28 * 28);
    expect(fast.some((v, i) => Math.abs(v - xT[i]) > 1e-3)).toBe(true);
    for (const other of ['plain', 'gpujs-cpu']) {
      const y = sample(other, `${other}.npy`);
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - fast[i]));
      expect(worst, other).toBeLessThan(1e-4);
    }
  }, 300_000);
});
