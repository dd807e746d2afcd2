#!/usr/bin/env node
/**
 * The package's command: `diffusion-ts <command> [flags]`, installed as a bin by npm. Each command
 * is a module of programs/ (the same code that `npx tsx scripts/<command>.ts` runs in a checkout),
 * loaded only when named, so `--version` and a mistyped command answer at once.
 */
import { runAsProgram } from './exits.ts';
import { packageVersion } from './version.ts';

interface Program {
  readonly summary: string;
  readonly load: () => Promise<{ main: (argv: readonly string[], launcher?: string) => Promise<void> }>;
}

const programs: Readonly<Record<string, Program>> = {
  train: { summary: 'train a diffusion model on MNIST, Fashion-MNIST or a folder of images', load: () => import('./programs/train.ts') },
  sample: { summary: 'draw images from a trained model (the shipped MNIST model by default)', load: () => import('./programs/sample.ts') },
  forward: { summary: 'picture the forward (noising) process on an MNIST digit', load: () => import('./programs/forward.ts') },
  eval: { summary: 'score a model\'s samples: MNIST-FD, confidence, coverage, class accuracy (JSON)', load: () => import('./programs/eval.ts') },
  'eval-cond': { summary: 'per-class table of how often a class-conditional model draws the class asked for', load: () => import('./programs/eval-cond.ts') },
  'export-model': { summary: 'turn a training run into a model folder: model.safetensors, config.json, MODEL_CARD.md', load: () => import('./programs/export-model.ts') },
};

const NAME = 'diffusion-ts';

const helpText = (): string => {
  const width = Math.max(...Object.keys(programs).map((n) => n.length)) + 2;
  return [
    `Usage: ${NAME} <command> [flags]`,
    `       ${NAME} <command> --help     the command's flags, with their defaults`,
    '',
    'Denoising diffusion models in TypeScript.',
    '',
    'Commands:',
    ...Object.entries(programs).map(([name, p]) => `  ${name.padEnd(width)}${p.summary}`),
    '',
    'Flags:',
    '  -h, --help     print this help and exit',
    '      --version  print the version and exit',
    '',
    `Example: ${NAME} sample --class 7 --steps 100 --out sevens.png`,
  ].join('\n');
};

/** Writes to stdout; a reader that stopped early (`--help | head`) is not an error. */
const print = (text: string): void => {
  process.stdout.on('error', () => process.exit(0));
  process.stdout.write(`${text}\n`);
};

const usageError = (message: string): never => {
  process.stderr.write(`${NAME}: ${message}\n`);
  return process.exit(2);
};

const [first, ...rest] = process.argv.slice(2);
if (first === undefined) {
  usageError(`a command is needed: ${Object.keys(programs).join(', ')} (see ${NAME} --help)`);
} else if (first === 'help' && rest[0] !== undefined && Object.hasOwn(programs, rest[0])) {
  // `diffusion-ts help sample` is `diffusion-ts sample --help`
  await (await programs[rest[0]].load()).main(['--help'], `${NAME} ${rest[0]}`);
} else if (first === '-h' || first === '--help' || first === 'help') {
  print(helpText());
} else if (first === '--version') {
  print(`${NAME} ${packageVersion()}`);
} else if (!Object.hasOwn(programs, first)) {
  usageError(`"${first}": unknown command (${Object.keys(programs).join(', ')}; see ${NAME} --help)`);
} else {
  runAsProgram(NAME);
  const { main } = await programs[first].load();
  await main(rest, `${NAME} ${first}`);
}
