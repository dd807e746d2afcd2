/**
 * A weights file that carries its training config in its safetensors metadata (what the browser
 * page downloads) loads on its own: from bytes, from a path with nothing beside it, and through
 * `scripts/sample.ts --checkpoint FILE`; an explicit config or network name still wins.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as R from '../src/tensor/random.ts';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { entriesToSafetensors } from '../src/weights/safetensors.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { presets } from '../src/train/config.ts';
import { CONFIG_METADATA_KEY, configInMetadata, modelSafetensors } from '../src/pipeline/model.ts';
import { pipelineFromFiles } from '../src/pipeline/pipeline.ts';
import { loadPipeline } from '../src/pipeline/load.ts';

const root = join(import.meta.dirname, '..');
const net = network(namedNetworks.tiny);
const weights = net.init(R.key(5));
const config = { ...presets.tiny, out: 'browser' };
const bytes = modelSafetensors(net, weights, config);

describe('a config in the safetensors metadata', () => {
  it('is written as JSON next to format "pt", with float32 PyTorch-named tensors', () => {
    const f = decodeSafetensors(bytes);
    if (E.isLeft(f)) throw f.left;
    expect(f.right.metadata.format).toBe('pt');
    expect(JSON.parse(f.right.metadata[CONFIG_METADATA_KEY])).toEqual(config);
    expect(Object.values(f.right.tensors).every((e) => e.dtype === 'F32' || e.dtype === 'I64')).toBe(true);
    expect(configInMetadata(encodeSafetensors(entriesToSafetensors(net.stateDict(weights))))).toBeUndefined();
  });

  it('loads from the bytes alone and samples as with the config given beside them', () => {
    const alone = pipelineFromFiles({ safetensors: bytes });
    expect(alone.config.training?.preset).toBe('tiny');
    expect(alone.schedule.T).toBe(presets.tiny.schedule.T);
    const beside = pipelineFromFiles({ safetensors: bytes, config });
    const opts = { n: 2, steps: 3, seed: 4 } as const;
    expect(alone.sample(opts).images).toEqual(beside.sample(opts).images);
  });

  it('gives way to an explicit network name (then the reference diffusion settings apply)', () => {
    expect(pipelineFromFiles({ safetensors: bytes, network: 'tiny' }).schedule.T).toBe(1000);
  });

  it('a bad config in the metadata is refused with where it came from', () => {
    const bad = encodeSafetensors(entriesToSafetensors(net.stateDict(weights)), { [CONFIG_METADATA_KEY]: '{"batch": 0}' });
    expect(() => pipelineFromFiles({ safetensors: bad }, 'w.safetensors')).toThrow(/w.safetensors \(its metadata\)/);
  });

  it('a bare file loads by path, and sample.ts --checkpoint FILE draws from it', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metadata-config-'));
    const file = join(dir, 'browser-checkpoint.safetensors');
    writeFileSync(file, bytes);
    const pipe = await loadPipeline(file);
    expect(pipe.config.training?.preset).toBe('tiny');
    const out = join(dir, 'x.npy');
    execFileSync('npx', ['tsx', 'scripts/sample.ts', '--checkpoint', file, '--n', '2', '--steps', '3', '--sampler', 'ddim', '--seed', '4', '--out', out], { cwd: root, stdio: 'pipe' });
    const npy = decodeNpy(new Uint8Array(readFileSync(out)));
    if (E.isLeft(npy)) throw npy.left;
    expect(npy.right.shape).toEqual([2, 1, 28, 28]);
    const mine = pipe.sample({ n: 2, steps: 3, sampler: 'ddim', seed: 4 }).images;
    const theirs = Float32Array.from(npy.right.data as ArrayLike<number>);
    expect(Math.max(...theirs.map((v, i) => Math.abs(v - mine[i])))).toBeLessThanOrEqual(1e-5);
  });

  it('a bare file with neither a config.json nor a config in its metadata says what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metadata-config-'));
    const file = join(dir, 'w.safetensors');
    writeFileSync(file, encodeSafetensors(entriesToSafetensors(net.stateDict(weights))));
    await expect(loadPipeline(file)).rejects.toThrow(/nor a config in its metadata: say which network it is with --network/);
  });
});
