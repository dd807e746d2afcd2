/**
 * The one command-line parser (src/cli/flags.ts): a flag table gives the parsed values, one line per
 * mistake naming the flag, and the --help text with every default.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { command, helpText, parseArgsOptions, parseCommand } from '../src/cli/flags.ts';
import { sampleCommand } from '../src/cli/commands.ts';

const demo = command({
  name: 'demo',
  usage: ['demo [flags]'],
  flags: [
    { name: 'n', type: 'integer', min: 1, value: 'N', default: 64, aliases: ['count'], description: 'number of images' },
    { name: 'lr', type: 'number', value: 'X', description: 'a rate' },
    { name: 'out', short: 'o', type: 'string', value: 'FILE', default: 'x.png', description: 'where' },
    { name: 'sampler', type: 'string', value: 'NAME', choices: ['ddpm', 'ddim'], default: 'ddpm', description: 'which' },
    { name: 'dir', type: 'string', value: 'DIR', shownDefault: 'runs/<preset>', description: 'a folder' },
    { name: 'no-ema', type: 'boolean', description: 'raw weights' },
  ],
});

const run = (argv: string[]) => {
  const r = parseCommand(demo)(argv);
  if (E.isLeft(r)) throw r.left;
  if (r.right.kind !== 'run') throw new Error(`expected a run, got ${r.right.kind}`);
  return r.right;
};
const error = (argv: string[]): string => {
  const r = parseCommand(demo)(argv);
  if (E.isRight(r)) throw new Error(`expected ${argv.join(' ')} to be refused`);
  expect(r.left.name).toBe('UsageError');
  return r.left.message;
};

describe('parseCommand', () => {
  it('fills defaults, converts numbers, reads --flag=value, short and long aliases', () => {
    expect(run([]).values).toEqual({ n: 64, lr: undefined, out: 'x.png', sampler: 'ddpm', dir: undefined, 'no-ema': false });
    const r = run(['--n', '3', '--lr=1e-3', '-o', 'a.png', '--sampler', 'ddim', '--no-ema', '--dir', 'd']);
    expect(r.values).toEqual({ n: 3, lr: 1e-3, out: 'a.png', sampler: 'ddim', dir: 'd', 'no-ema': true });
    expect([...r.given].sort()).toEqual(['dir', 'lr', 'n', 'no-ema', 'out', 'sampler']);
    // an alias sets the flag it stands for, and the command line's own spelling is kept
    const alias = run(['--count', '7']);
    expect(alias.values.n).toBe(7);
    expect([...alias.given, ...alias.spelled]).toEqual(['n', 'count']);
    // a negative number is a value, not a flag; the last of a repeated flag wins
    expect(run(['--lr', '-0.5', '--n', '2', '--n', '5']).values).toMatchObject({ lr: -0.5, n: 5 });
  });

  it('refuses each mistake in one line that names the flag', () => {
    expect(error(['--bogus', '1'])).toBe('--bogus: unknown flag (see --help)');
    expect(error(['-x'])).toBe('-x: unknown flag (see --help)');
    expect(error(['--lr'])).toBe('--lr: needs a value (--lr X)');
    expect(error(['--out', '--n', '3'])).toBe('--out: needs a value (--out FILE)');
    expect(error(['--lr', 'fast'])).toBe('--lr: expected a number, got "fast"');
    expect(error(['--lr='])).toBe('--lr: expected a number, got ""');
    expect(error(['--n', '2.5'])).toBe('--n: expected an integer ≥ 1, got "2.5"');
    expect(error(['--n', '0'])).toBe('--n: expected an integer ≥ 1, got "0"');
    expect(error(['--count', 'x'])).toBe('--n: expected an integer ≥ 1, got "x"');
    expect(error(['--sampler', 'euler'])).toBe('--sampler: expected ddpm or ddim, got "euler"');
    expect(error(['--no-ema=yes'])).toBe('--no-ema: takes no value, got "yes"');
    expect(error(['runs/quick'])).toBe('"runs/quick": unexpected argument (flags start with --; see --help)');
    expect(error(['--', 'a'])).toBe('"a": unexpected argument (flags start with --; see --help)');
  });

  it('-h or --help anywhere asks for the help, even beside a mistake; --version for the version', () => {
    for (const argv of [['-h'], ['--help'], ['--n', '0', '--help'], ['--bogus', '-h']]) {
      expect(parseCommand(demo)(argv)).toEqual(E.right({ kind: 'help' }));
    }
    expect(parseCommand(demo)(['--version'])).toEqual(E.right({ kind: 'version' }));
  });

  it('required flags and positional arguments', () => {
    const cmd = command({
      name: 'pos', usage: ['pos DIR --out FILE'], positionals: { name: 'DIR', min: 1, max: 1, description: 'a folder' },
      flags: [{ name: 'out', type: 'string', value: 'FILE', required: true, description: 'where' }],
    });
    const parse = parseCommand(cmd);
    const ok = parse(['d', '--out', 'f']);
    expect(E.isRight(ok) && ok.right.kind === 'run' && [ok.right.positionals, ok.right.values.out]).toEqual([['d'], 'f']);
    const message = (argv: string[]) => {
      const r = parse(argv);
      return E.isLeft(r) ? r.left.message : 'accepted';
    };
    expect(message(['d'])).toBe('--out: required (see --help)');
    expect(message(['--out', 'f'])).toBe('DIR: missing (usage: pos DIR --out FILE)');
    expect(message(['d', 'e', '--out', 'f'])).toBe('"e": unexpected argument (flags start with --; see --help)');
  });

  it('gives parseArgs every name: flags, aliases and shorts, numbers as strings', () => {
    const options = parseArgsOptions(demo);
    expect(options.n).toEqual({ type: 'string' });
    expect(options.count).toEqual({ type: 'string' });
    expect(options.out).toEqual({ type: 'string', short: 'o' });
    expect(options['no-ema']).toEqual({ type: 'boolean' });
    expect(options.help).toEqual({ type: 'boolean', short: 'h' });
    expect(options.version).toEqual({ type: 'boolean' });
  });
});

describe('helpText', () => {
  it('lists every flag with its placeholder, its default and its aliases, then -h and --version', () => {
    const help = helpText(demo);
    expect(help.split('\n')[0]).toBe('Usage: demo [flags]');
    expect(help).toMatch(/^ {6}--n N +number of images \(default 64; also --count\)$/m);
    expect(help).toMatch(/^ {6}--lr X +a rate$/m);
    expect(help).toMatch(/^ {2}-o, --out FILE +where \(default x\.png\)$/m);
    expect(help).toMatch(/^ {6}--dir DIR +a folder \(default runs\/<preset>\)$/m);
    expect(help).toMatch(/^ {6}--no-ema +raw weights$/m);
    expect(help).toMatch(/^ {2}-h, --help +print this help and exit$/m);
    expect(help).toMatch(/^ {6}--version +print the package version and exit$/m);
    expect(help.split('\n').every((l) => l.length <= 100)).toBe(true);
  });

  it('sample.ts: the default of every flag that has one, and the engine\'s backend default', () => {
    const help = helpText(sampleCommand).replace(/\n {20,}/g, ' ');
    for (const d of ['(default 64)', '(default 0)', '(default ddpm)', '(default 3)', '(default all T)', '(default samples.png)', '(default 1)']) expect(help).toContain(d);
    expect(help).toContain('(default fast, or the DIFFUSION_BACKEND environment variable when set)');
  });
});
