/**
 * The package as someone else's project gets it: `npm pack`, install the tarball into an empty
 * project, run a consumer and the package's `diffusion-ts` bin with plain `node` (no tsx: the
 * compiled dist/ must stand alone), and type-check a consumer under the strict NodeNext settings a
 * modern Node project uses.
 *
 * Offline on purpose (CI machines and this one may have no network): the empty project gets a copy
 * of the package's runtime dependencies from this repository's node_modules first, chosen from
 * package-lock.json (every package that is neither dev-only nor optional), with their bin links,
 * so that `npm install --offline <tarball>` finds every dependency already in place and only
 * unpacks the tarball. npm runs with an empty cache of its own: were it to want anything else, the
 * install would fail (ENOTCACHED) instead of quietly using what the machine's cache happens to hold.
 * Copies, not symlinks: npm would follow a link into this repository and could rewrite its
 * node_modules. Optional packages (gpu.js's native `gl`) are left out, and `--ignore-scripts`
 * keeps npm from building anything.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = process.cwd();
const run = (cmd: string, args: readonly string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));

/**
 * Whether dist/ is the build of today's src/: every source has its .js and .d.ts, none older than
 * the source or the build configs, and no output is left from a source that is gone.
 */
const distIsFresh = (): boolean => {
  if (!existsSync('dist')) return false;
  const sources = filesUnder('src').filter((f) => f.endsWith('.ts')).map((f) => relative('src', f).slice(0, -'.ts'.length));
  const outputs = new Set(filesUnder('dist').map((f) => relative('dist', f)));
  const newestInput = Math.max(
    ...sources.map((s) => statSync(join('src', `${s}.ts`)).mtimeMs),
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => statSync(f).mtimeMs),
  );
  const expected = sources.flatMap((s) => [`${s}.js`, `${s}.d.ts`]);
  return expected.length === outputs.size && expected.every((f) => outputs.has(f) && statSync(join('dist', f)).mtimeMs >= newestInput);
};

/** Copies the package's runtime dependency tree (as package-lock.json lays it out) into `project`, bin links too. */
const copyRuntimeDeps = (project: string): void => {
  type Locked = { dev?: boolean; optional?: boolean; devOptional?: boolean; bin?: Record<string, string> };
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, Locked> };
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path === '' || p.dev || p.optional || p.devOptional) continue;
    cpSync(join(repo, path), join(project, path), { recursive: true });
    // without its links in .bin npm takes a package as half-installed and fetches it again
    for (const [name, file] of Object.entries(p.bin ?? {})) {
      const binDir = join(project, dirname(path), '.bin');
      mkdirSync(binDir, { recursive: true });
      symlinkSync(relative(binDir, join(project, path, file)), join(binDir, name));
    }
  }
};

// what a user's code does with the package, run by `node` itself
const consumerMjs = `
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { add, pipelineFromFiles, tensor, toArray } from 'diffusion-ts';
import { cosineBetas, makeSchedule } from 'diffusion-ts/ddpm';
import { loadPipeline, shippedModels } from 'diffusion-ts/node';

const pipe = await loadPipeline('mnist-cond');
const opts = { n: 2, sampler: 'ddim', steps: 5, seed: 1, classLabels: [3, 7] };
const { images, shape } = pipe.sample(opts);
const inMemory = pipelineFromFiles({
  safetensors: new Uint8Array(readFileSync(shippedModels['mnist-cond'])),
  config: JSON.parse(readFileSync(join(dirname(shippedModels['mnist-cond']), 'config.json'), 'utf8')),
});
const again = inMemory.sample(opts).images;
let missing = '';
try { await loadPipeline('mnist'); } catch (e) { missing = e.message; }
console.log(JSON.stringify({
  core: toArray(add(tensor([1, 2]), 1)),
  T: makeSchedule(cosineBetas(10)).T,
  shape,
  length: images.length,
  finite: images.every(Number.isFinite),
  min: Math.min(...images),
  max: Math.max(...images),
  sameInMemory: again.every((v, i) => v === images[i]),
  objective: pipe.config.objective,
  missing,
}));
`;

// the typed API under a consumer's strict NodeNext settings; @ts-expect-error lines fail if the types degrade to any
const consumerTs = `
import { pipelineFromFiles, tensor, toArray, type ModelFiles, type Pipeline, type Samples, type Tensor } from 'diffusion-ts';
import { cosineBetas, makeSchedule, type Schedule } from 'diffusion-ts/ddpm';
import * as layers from 'diffusion-ts/layers';
import { decodeSafetensors } from 'diffusion-ts/io';
import { loadPipeline, shippedModels, type SampleOptions } from 'diffusion-ts/node';

const pipe: Pipeline = await loadPipeline('mnist-cond', { noEma: false });
const opts: SampleOptions = { n: 2, sampler: 'ddim', steps: 5, seed: 1, classLabels: [3, 7], guidance: 3, eta: 0, onStep: (t: number) => void t };
const out: Samples = pipe.sample(opts);
const [n, c, h, w]: readonly number[] = out.shape;
const pixels: Float32Array = out.images;
const schedule: Schedule = makeSchedule(cosineBetas(10));
const x: Tensor = tensor([1, 2]);
const values: number[] = toArray(x);
const files: ModelFiles = { safetensors: new Uint8Array(0), config: {} };
const fromBytes: (f: ModelFiles) => Pipeline = pipelineFromFiles;
const base: number = layers.small.baseChannels;
const decoded = decodeSafetensors(new Uint8Array(0));
const weightsPath: string = shippedModels['mnist-cond'];
// @ts-expect-error not a sampler
pipe.sample({ n: 1, sampler: 'euler' });
// @ts-expect-error n is required
pipe.sample({ steps: 5 });
// @ts-expect-error not a shipped model
void shippedModels['cifar'];
console.log(n, c, h, w, pixels, schedule.T, values, files, fromBytes, base, decoded, weightsPath);
`;

describe('the npm package', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'diffusion-ts-pack-'));
  const project = join(tmp, 'consumer');
  let packed: { filename: string; size: number; entryCount: number; files: { path: string }[] };

  beforeAll(() => {
    if (!distIsFresh()) run('npm', ['run', 'build'], repo);
    // --ignore-scripts: `npm pack` would run `prepare` (the build) again
    const json = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], repo);
    [packed] = JSON.parse(json);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
    copyRuntimeDeps(project);
    run('npm', ['install', '--offline', '--cache', join(tmp, 'npm-cache'), '--no-audit', '--no-fund', '--ignore-scripts', join(tmp, packed.filename)], project);
  }, 180_000);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('ships dist, assets and the docs, and nothing of the sources, tests or scripts', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/node.js',
      'dist/ddpm/index.js', 'dist/layers/index.js', 'dist/io/index.js', 'assets/ddpm-mnist-cond/model.safetensors',
      'assets/ddpm-mnist-cond/config.json', 'assets/ddpm-mnist/guide.safetensors', 'assets/ddpm-fashion-mnist/model.safetensors', 'assets/mnist-classifier.safetensors']) {
      expect(paths, p).toContain(p);
    }
    const stray = paths.filter((p) => !/^(dist|assets)\//.test(p) && !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(p));
    expect(stray).toEqual([]);
  });

  it('runs under plain node: the shipped cond model samples finite images, the same from bytes as from the path', () => {
    writeFileSync(join(project, 'consumer.mjs'), consumerMjs);
    const out = JSON.parse(run(process.execPath, ['consumer.mjs'], project));
    expect(out.core).toEqual([2, 3]);
    expect(out.T).toBe(10);
    expect(out.shape).toEqual([2, 1, 28, 28]);
    expect(out.length).toBe(2 * 28 * 28);
    expect(out.finite).toBe(true);
    expect(out.min).toBeGreaterThanOrEqual(-1.01);
    expect(out.max).toBeLessThanOrEqual(1.01);
    expect(out.sameInMemory).toBe(true);
    expect(out.objective).toBe('v');
    // the unconditional model ships too, and loads by name from the installed package
    expect(existsSync(join(repo, 'assets', 'ddpm-mnist', 'model.safetensors'))).toBe(true);
    expect(out.missing).toBe('');
  });

  it('installs the `diffusion-ts` bin: help, version, sampling the shipped model and a training step under plain node', { timeout: 120_000 }, () => {
    const bin = join(project, 'node_modules', '.bin', 'diffusion-ts');
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    // as a shell runs it: the link npm made, its #! line and its executable bit
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    expect(execFileSync(bin, ['--version'], { cwd: project, encoding: 'utf8', env })).toBe(`diffusion-ts ${version}\n`);
    const node = (args: readonly string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: project, encoding: 'utf8', timeout: 60_000 });

    const help = node(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: diffusion-ts <command> \[flags\]/);
    for (const name of ['train', 'sample', 'forward', 'eval', 'eval-cond', 'export-model']) expect(help.stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
    expect(node(['sample', '--help']).stdout).toMatch(/^Usage: diffusion-ts sample \[--checkpoint DIR\|FILE\] \[flags\]$/m);
    const unknown = node(['smaple']);
    expect([unknown.status, unknown.stderr.split('\n').length]).toEqual([2, 2]);
    expect(unknown.stderr).toMatch(/^diffusion-ts: "smaple": unknown command/);
    // a command's mistakes name the bin too: one line, exit 2
    const bad = node(['sample', '--n', '0']);
    expect([bad.status, bad.stderr]).toEqual([2, 'diffusion-ts sample: --n: expected an integer ≥ 1, got "0"\n']);
    const badTrain = node(['train', '--batch', 'x']);
    expect([badTrain.status, badTrain.stderr]).toEqual([2, 'diffusion-ts train: --batch: expected a number, got "x"\n']);

    // without --checkpoint, --class finds the shipped class-conditional model inside the installed package
    const sample = node(['sample', '--class', '3', '--n', '2', '--steps', '3', '--out', 'threes.png']);
    expect(sample.status, sample.stderr).toBe(0);
    expect(sample.stderr).toMatch(/^wrote threes\.png: 2 images, 3 ddpm steps, seed 0; /m);
    expect([...readFileSync(join(project, 'threes.png')).subarray(1, 4)]).toEqual([...Buffer.from('PNG')]);

    // the loop runs in a worker thread: built JavaScript, loaded without tsx
    const train = node(['train', '--preset', 'tiny', '--batch', '4', '--train-steps', '1', '--n', '0', '--out', 'run']);
    expect(train.status, train.stderr).toBe(0);
    expect(train.stderr).toMatch(/^done: 1 steps in /m);
    expect(existsSync(join(project, 'run', 'latest.json'))).toBe(true);
  });

  it('type-checks a consumer under strict NodeNext', () => {
    // the consumer's own dev dependencies: Node's types (and what they import)
    for (const p of ['node_modules/@types/node', 'node_modules/undici-types']) cpSync(join(repo, p), join(project, p), { recursive: true });
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files: ['consumer.ts'],
    }));
    writeFileSync(join(project, 'consumer.ts'), consumerTs);
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      run(process.execPath, [tsc, '-p', '.'], project);
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe('');
  });
});
