/**
 * The commands' side of flags.ts, where the effects are: `--help` and `--version` print and exit 0;
 * a mistake on the command line is one line on stderr, `COMMAND: --flag: what is wrong`, and exit
 * status 2; otherwise the parsed values come back.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type Command, helpText, type Invocation, parseCommand } from './flags.ts';
import { packageVersion } from './version.ts';
import { exits } from './exits.ts';

export type Run<C extends Command> = Extract<Invocation<C>, { kind: 'run' }>;

/**
 * How the user started a command: `npx tsx scripts/sample.ts` from a checkout, `diffusion-ts sample`
 * through the package's bin. Help, usage errors and the lines that suggest a next command say it.
 */
export const scriptLauncher = (name: string): string => `npx tsx scripts/${name}.ts`;

/** The tables write their usage lines as a checkout runs them; another launcher takes their place. */
export const launchedAs = <C extends Command>(cmd: C, launcher: string): C =>
  ({ ...cmd, usage: cmd.usage.map((u) => u.replace(/^npx tsx scripts\/\S+\.ts/, launcher)) });

/**
 * Writes to stdout and exits 0. On Linux a write to a pipe, a file or a terminal is synchronous, so
 * exiting at once loses nothing; a reader that stopped early (`--help | head`) is not an error.
 */
const printAndExit = (text: string): never => {
  process.stdout.on('error', () => process.exit(0));
  process.stdout.write(`${text}\n`);
  return process.exit(0);
};

/** The command line of `cmd`, parsed; help, version and usage errors end the process here. */
export const cli = <C extends Command>(cmd: C, argv: readonly string[] = process.argv.slice(2), launcher?: string): Run<C> => {
  const shown = launcher === undefined ? cmd : launchedAs(cmd, launcher);
  const r = parseCommand(shown)(argv);
  if (E.isLeft(r)) return exits(cmd.name).die(r.left.message);
  const inv = r.right;
  if (inv.kind === 'help') return printAndExit(helpText(shown));
  if (inv.kind === 'version') return printAndExit(`diffusion-ts ${packageVersion()}`);
  return inv as Run<C>;
};

/** Why `--scale` cannot apply (it enlarges a PNG `--out` only), or null when it can. */
export const scaleProblem = (scale: number, out: string | undefined): string | null =>
  scale === 1 ? null
  : out === undefined ? '--scale: enlarges the --out PNG, but there is no --out'
  : /\.npy$/i.test(out) ? `--scale: enlarges the --out PNG, but --out ${out} is an array`
  : null;
