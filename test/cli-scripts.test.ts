/**
 * Every script on the one parser, as a user meets it: `--help` prints the usage with the defaults
 * and exits 0, `--version` the package's version, and a mistake on the command line is one line,
 * `SCRIPT: --flag: what is wrong`, with exit status 2 and no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const tsx = join('node_modules', '.bin', 'tsx');
const script = (name: string, argv: string[]) => spawnSync(tsx, [`scripts/${name}.ts`, ...argv], { encoding: 'utf8', timeout: 120_000 });

/** Status 2 and exactly this one line on stderr. */
const refused = (name: string, argv: string[], line: string): void => {
  const r = script(name, argv);
  expect(r.stderr, `${name} ${argv.join(' ')}`).toBe(`${line}\n`);
  expect(r.status, `${name} ${argv.join(' ')}`).toBe(2);
};

const scripts = ['train', 'sample', 'eval', 'eval-cond', 'forward', 'export-model', 'train-classifier', 'check-run', 'bench', 'bench-quality', 'bench/tfjs'];

describe('every script: --help, --version, an unknown flag', () => {
  it('--help prints the usage and the flags and exits 0; -h is the same', { timeout: 600_000 }, () => {
    for (const name of scripts) {
      const r = script(name, ['--help']);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toMatch(/^Usage: /);
      expect(r.stdout, name).toMatch(/^ {2}-h, --help +print this help and exit$/m);
      expect(r.stderr, name).toBe('');
    }
    expect(script('sample', ['-h']).stdout).toBe(script('sample', ['--help']).stdout);
  });

  it('--version prints the package version', { timeout: 120_000 }, () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const name of ['sample', 'train']) {
      const r = script(name, ['--version']);
      expect([r.status, r.stdout]).toEqual([0, `diffusion-ts ${version}\n`]);
    }
  });

  it('an unknown flag, a missing value, a positional argument: one line and status 2', { timeout: 300_000 }, () => {
    refused('train', ['--btach', '4'], 'train: --btach: unknown flag (see --help)');
    refused('eval', ['--images'], 'eval: --images: needs a value (--images FILE)');
    refused('eval-cond', ['--per-class', 'ten'], 'eval-cond: --per-class: expected an integer ≥ 1, got "ten"');
    refused('forward', ['out.png'], 'forward: "out.png": unexpected argument (flags start with --; see --help)');
    refused('export-model', ['--out', 'x'], 'export-model: --checkpoint: required (see --help)');
    refused('train-classifier', ['--steps', '40'], 'train-classifier: --steps: unknown flag (see --help)');
    refused('check-run', [], 'check-run: RUN_DIR: missing (usage: npx tsx scripts/check-run.ts RUN_DIR)');
    refused('bench', ['--suite', 'gpu'], 'bench: --suite: expected ops, train or sample, got "gpu"');
  });
});

describe('sample.ts refuses bad input before loading a model', () => {
  it('--n 0, --n 2.5, --out x.jpg, an unknown flag, --steps without a value, --scale with an array', { timeout: 300_000 }, () => {
    refused('sample', ['--n', '0'], 'sample: --n: expected an integer ≥ 1, got "0"');
    refused('sample', ['--n', '2.5'], 'sample: --n: expected an integer ≥ 1, got "2.5"');
    refused('sample', ['--out', 'x.jpg'], 'sample: --out: expected a .png (grid) or .npy (array) file name, got "x.jpg"');
    refused('sample', ['--bogus'], 'sample: --bogus: unknown flag (see --help)');
    refused('sample', ['--steps'], 'sample: --steps: needs a value (--steps N)');
    refused('sample', ['--sampler', 'euler'], 'sample: --sampler: expected ddpm, ddim or dpmpp2m, got "euler"');
    refused('sample', ['--eta', '0.5'], 'sample: --eta: a DDIM setting; add --sampler ddim');
    refused('sample', ['--scale', '2', '--out', 'x.npy'], 'sample: --scale: enlarges PNG pictures, but --out x.npy is an array');
  });

  it('--help names the real defaults, the backend\'s included', { timeout: 60_000 }, () => {
    const help = script('sample', ['--help']).stdout.replace(/\n {20,}/g, ' ');
    expect(help).toContain('--n N');
    expect(help).toContain('(default 64)');
    expect(help).toContain('(default fast, or the DIFFUSION_BACKEND environment variable when set)');
  });
});

describe('train.ts: one meaning per flag', () => {
  it('--help shows the default preset\'s values; --steps without --train-steps is noted', { timeout: 120_000 }, () => {
    const help = script('train', ['--help']).stdout.replace(/\n {20,}/g, ' ');
    expect(help).toMatch(/--train-steps N\|none +optimizer steps in total .*\(default 2000\)/);
    expect(help).toMatch(/--steps N +the grids' sampling steps.*\(default 100; also --sample-steps\)/);
    expect(help).toMatch(/--backend NAME +.*\(default fast\)/);
    expect(help).toContain('The defaults shown are the quick preset\'s');
    // the quick preset's T is 400: 5000 grid steps are refused, after the note that says what --steps is now
    const r = script('train', ['--steps', '5000']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')).toEqual([
      'train: note: --steps sets the grids\' sampling steps; the number of optimizer steps is --train-steps',
      'train: train config: "sampleSteps": 5000 sampling steps exceed T = 400',
      '',
    ]);
  });
});
