import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeSavedConfig, defaultPreset, presets, TrainConfig } from '../src/train/config.ts';
import { network, networkChannels } from '../src/train/network.ts';
import { countParams } from '../src/layers/index.ts';
import { helpText, parseCommand } from '../src/cli/flags.ts';
import { configFromArgs, trainCommand, trainNotices } from '../src/cli/train.ts';
import * as R from '../src/tensor/random.ts';

const parse = (argv: string[]) => configFromArgs(argv);
const error = (argv: string[]): string => {
  const r = parse(argv);
  if (E.isRight(r)) throw new Error(`expected ${argv.join(' ')} to be refused`);
  return r.left.message;
};

describe('train config', () => {
  it('every preset is a valid config', () => {
    for (const [name, p] of Object.entries(presets)) {
      expect(E.isRight(TrainConfig.decode({ ...p, out: 'x' })), name).toBe(true);
    }
  });

  it('the seed preset is the walk-through: seed network at 32×32, linear T = 200, Adam 1e-3, batch 128, 20 epochs', () => {
    const c = presets.seed;
    expect(c.network.kind).toBe('simple');
    expect(c.imageSize).toBe(32);
    expect(c.schedule).toEqual({ kind: 'linear', T: 200 });
    expect([c.lr, c.batch, c.epochs, c.ema]).toEqual([1e-3, 128, 20, 0]);
  });

  it('the reference preset: mnist32, linear T = 1000, Adam 2e-4, batch 128, EMA 0.999', () => {
    const c = presets.reference;
    expect(countParams(network(c.network).init(R.key(0)).params)).toBe(2_835_329);
    expect(c.schedule).toEqual({ kind: 'linear', T: 1000 });
    expect([c.lr, c.batch, c.ema]).toEqual([2e-4, 128, 0.999]);
  });

  it('no flags gives the default preset; flags override fields', () => {
    const d = parse([]);
    expect(E.isRight(d) && d.right.config.preset).toBe(defaultPreset);
    const r = parse(['--preset', 'seed', '--batch', '64', '--lr=3e-4', '--train-steps', '10', '--schedule', 'cosine', '--timesteps', '500', '--network-json', '{"timeDim":64}']);
    if (E.isLeft(r)) throw r.left;
    const c = r.right.config;
    expect([c.batch, c.lr, c.steps, c.out]).toEqual([64, 3e-4, 10, 'runs/seed']);
    expect(c.schedule).toEqual({ kind: 'cosine', T: 500 });
    expect(c.network.kind === 'simple' && c.network.simple.timeDim).toBe(64);
  });

  it('bad values are refused with the path and the reason, before any work', () => {
    expect(error(['--batch', '0'])).toMatch(/train config: "batch": expected a positive integer, got 0/);
    expect(error(['--lr', '-1'])).toMatch(/"lr": expected a finite number > 0, got -1/);
    expect(error(['--ema', '1'])).toMatch(/"ema": expected a number in \[0, 1\)/);
    expect(error(['--preset', 'huge'])).toBe('--preset: expected seed, reference, tiny, quick or cond, got "huge"');
    expect(error(['--network', 'resnet'])).toMatch(/^--network: expected mnist32, .* or seedTiny, got "resnet"$/);
    expect(error(['--btach', '3'])).toBe('--btach: unknown flag (see --help)');
    expect(error(['--lr', 'fast'])).toBe('--lr: expected a number, got "fast"');
    expect(error(['--train-steps', 'many'])).toBe('--train-steps: expected a number or none, got "many"');
    expect(error(['--sampler', 'euler'])).toBe('--sampler: expected ddpm, ddim or dpmpp2m, got "euler"');
    expect(error(['runs/x'])).toBe('"runs/x": unexpected argument (flags start with --; see --help)');
    expect(error(['--schedule', 'cosine', '--beta-end', '0.02'])).toMatch(/betaEnd/);
    expect(error(['--timesteps', '-5'])).toMatch(/"schedule"\."T"/);
    expect(error(['--network-json', '{"baseChannels": 0}'])).toMatch(/baseChannels/);
    expect(error(['--preset', 'seed', '--image-size', '28'])).toMatch(/"imageSize": .*not divisible by 16/);
    expect(error(['--steps', '5000'])).toMatch(/"sampleSteps": 5000 sampling steps exceed T/);
    expect(error(['--train-steps'])).toBe('--train-steps: needs a value (--train-steps N|none)');
  });

  it('--n, --steps and --sampler are the grids\' (as in sample.ts); --train-steps the optimizer\'s; the old grid names still work', () => {
    const config = (argv: string[]) => {
      const r = parse(argv);
      if (E.isLeft(r)) throw r.left;
      return r.right.config;
    };
    const c = config(['--n', '16', '--steps', '20', '--sampler', 'ddim', '--train-steps', '300', '--scale', '3']);
    expect([c.sampleCount, c.sampleSteps, c.sampler, c.steps, c.sampleScale]).toEqual([16, 20, 'ddim', 300, 3]);
    const old = config(['--sample-count', '16', '--sample-steps', '20']);
    expect([old.sampleCount, old.sampleSteps, old.steps]).toEqual([16, 20, presets[defaultPreset].steps]);
    // none: the run's length is --epochs passes over the data
    expect(config(['--train-steps', 'none', '--epochs', '2']).steps).toBeNull();
    expect(error(['--scale', '0'])).toMatch(/"sampleScale": expected a positive integer, got 0/);
  });

  it('notes that --steps without --train-steps sets the grids\' steps, not the optimizer\'s', () => {
    const notes = (argv: string[]) => {
      const inv = parseCommand(trainCommand)(argv);
      if (E.isLeft(inv) || inv.right.kind !== 'run') throw new Error(argv.join(' '));
      return trainNotices(inv.right);
    };
    expect(notes(['--steps', '50'])).toEqual(['--steps sets the grids\' sampling steps; the number of optimizer steps is --train-steps']);
    expect(notes(['--steps', '50', '--train-steps', '100'])).toEqual([]);
    expect(notes(['--sample-steps', '50'])).toEqual([]);
    expect(notes([])).toEqual([]);
  });

  it('--help shows every flag with the default preset\'s value, and lists the presets', () => {
    const help = helpText(trainCommand);
    /** A flag's help: its line and the indented lines that continue it. */
    const entry = (label: string): string => {
      const lines = help.split('\n');
      const i = lines.findIndex((l) => l.trimStart().startsWith(`${label} `));
      const rest = lines.slice(i + 1);
      const end = rest.findIndex((l) => !/^ {10,}\S/.test(l));
      return [lines[i], ...rest.slice(0, end)].map((l) => l.trim()).join(' ');
    };
    const q = presets[defaultPreset];
    for (const [label, value] of [['--train-steps N|none', q.steps], ['--batch N', q.batch], ['--lr X', q.lr], ['--n N', q.sampleCount], ['--steps N', q.sampleSteps],
      ['--sampler NAME', q.sampler], ['--backend NAME', 'fast'], ['--timesteps T', q.schedule.T], ['--preset NAME', 'quick'], ['--network NAME', 'small']] as const) {
      expect(entry(label), label).toContain(`(default ${value}`);
    }
    expect(entry('--n N')).toContain('also --sample-count');
    expect(entry('--steps N')).toContain('also --sample-steps');
    for (const name of Object.keys(presets)) expect(help).toMatch(new RegExp(`^  ${name} +`, 'm'));
    expect(help).toContain('tiny       net tiny, 28×28, cosine T = 200, eps; 200 steps of batch 16');
  });

  it('--image-folder is the folder dataset, RGB by default; --channels sets the network\'s channels', () => {
    const config = (argv: string[]) => {
      const r = parse(argv);
      if (E.isLeft(r)) throw r.left;
      return r.right.config;
    };
    const rgb = config(['--preset', 'tiny', '--image-folder', 'pics']);
    expect([rgb.dataset, rgb.imageFolder, networkChannels(rgb.network)]).toEqual(['folder', 'pics', 3]);
    expect(network(rgb.network).channels).toBe(3);
    expect(networkChannels(config(['--image-folder', 'pics', '--channels', '1']).network)).toBe(1);
    expect(networkChannels(config(['--image-folder', 'pics', '--network-json', '{"inChannels":1}']).network)).toBe(1);
    const seed = config(['--preset', 'seed', '--image-folder', 'pics']).network;
    expect(seed.kind === 'simple' && [seed.simple.inChannels, seed.simple.outChannels]).toEqual([3, 3]);
    const mnist = config([]);
    expect([mnist.dataset, mnist.imageFolder, networkChannels(mnist.network)]).toEqual(['mnist', null, 1]);
    // a resumed run keeps its saved network: no RGB default on top of it
    const resumed = configFromArgs(['--image-folder', 'pics'], { ...config(['--image-folder', 'pics', '--channels', '1']), out: 'x' });
    expect(E.isRight(resumed) && networkChannels(resumed.right.config.network)).toBe(1);
  });

  it('refuses channel and dataset combinations that cannot train', () => {
    expect(error(['--channels', '3'])).toMatch(/"network": mnist is grayscale: the network must take 1 channel, not 3/);
    expect(error(['--image-folder', 'pics', '--channels', '2'])).toBe('--channels: expected 1 or 3, got "2"');
    expect(error(['--dataset', 'folder'])).toMatch(/"imageFolder": the folder dataset needs --image-folder DIR/);
    expect(error(['--dataset', 'mnist', '--image-folder', 'pics'])).toMatch(/"imageFolder": .*the dataset is "mnist"/);
    expect(error(['--image-folder', 'pics', '--data-dir', 'idx'])).toMatch(/"dataDir": is the IDX datasets' folder/);
    expect(error(['--preset', 'seed', '--image-folder', 'pics', '--network-json', '{"inChannels":3}'])).toMatch(/"outChannels": the seed network must predict as many channels as it takes \(3\)/);
  });

  it('configs saved before image folders existed still load, as the IDX dataset they were', () => {
    const { imageFolder: _, ...old } = { ...presets.tiny, out: 'runs/tiny' };
    const r = decodeSavedConfig('config.json', JSON.parse(JSON.stringify(old)));
    if (E.isLeft(r)) throw r.left;
    expect([r.right.dataset, r.right.imageFolder]).toEqual(['mnist', null]);
  });
});
