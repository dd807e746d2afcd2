/**
 * One command-line parser for every script, on Node's `util.parseArgs`. A command is a table of
 * flags (name, type, value placeholder, description, default); from that one table come the
 * parseArgs options, the parsed and checked values, and the `--help` text, so the help cannot drift
 * from what is accepted. Pure: argv in, `Either` out. Printing, reading the version and exiting
 * belong to the caller (src/cli/cli.ts).
 *
 * Every mistake is one line that names the flag and what is wrong with it
 * (`--n: expected an integer ≥ 1, got "2.5"`), so a script can print it after its own name.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';

/**
 * `string` and `boolean` are parseArgs's own types; `number` and `integer` are strings checked and
 * converted here (with `min`), so a script never sees a number it has not asked for.
 */
export type FlagType = 'string' | 'boolean' | 'number' | 'integer';

export interface Flag {
  /** the long name, without `--` */
  readonly name: string;
  readonly type: FlagType;
  /** a one-letter alias, without `-` */
  readonly short?: string;
  /** other long names with the same meaning, kept so that older command lines still work */
  readonly aliases?: readonly string[];
  /** the value's placeholder in the help (`N`, `DIR`, `FILE.png|FILE.npy`) */
  readonly value?: string;
  readonly description: string;
  /** the value when the flag is absent, also shown in the help */
  readonly default?: string | number | boolean;
  /** shown in the help as the default when the default depends on something else (`all T`) */
  readonly shownDefault?: string;
  /** numbers: the least value accepted (inclusive) */
  readonly min?: number;
  /** strings: the only values accepted */
  readonly choices?: readonly string[];
  readonly required?: boolean;
}

export interface Positionals {
  /** the placeholder in the usage line and in messages (`RUN_DIR`) */
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly description: string;
}

export interface Command {
  /** the script's name, which prefixes its messages (`sample`) */
  readonly name: string;
  /** usage lines, without "Usage: " */
  readonly usage: readonly string[];
  /** a paragraph between the usage and the flags */
  readonly about?: string;
  readonly flags: readonly Flag[];
  /** a paragraph after the flags */
  readonly notes?: string;
  /** arguments that are not flags; without this, any is refused */
  readonly positionals?: Positionals;
}

/** Declares a command, keeping its table's literal types so that `Values` knows each flag's type. */
export const command = <const C extends Command>(c: C): C => c;

/** A mistake on the command line: one line, the flag first. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The flags every command has. */
export const commonFlags = [
  { name: 'help', short: 'h', type: 'boolean', description: 'print this help and exit' },
  { name: 'version', type: 'boolean', description: 'print the package version and exit' },
] as const satisfies readonly Flag[];

type ValueOf<F extends Flag> =
  F['type'] extends 'boolean' ? boolean
  : F['type'] extends 'string' ? (F extends { readonly choices: readonly (infer S)[] } ? S : string)
  : number;

type Slot<F extends Flag> =
  F['type'] extends 'boolean' ? boolean
  : F extends { readonly default: string | number | boolean } | { readonly required: true } ? ValueOf<F>
  : ValueOf<F> | undefined;

/** The parsed values, keyed by the flags' long names: a flag with a default or `required` is always there. */
export type Values<C extends Command> = { readonly [F in C['flags'][number] as F['name']]: Slot<F> };

export type Invocation<C extends Command> =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
    readonly kind: 'run';
    readonly values: Values<C>;
    readonly positionals: readonly string[];
    /** the long names of the flags the command line gave (a default is not given) */
    readonly given: ReadonlySet<string>;
    /** the names as the command line spelled them: an alias, not the flag it stands for */
    readonly spelled: ReadonlySet<string>;
  };

const allFlags = (cmd: Command): readonly Flag[] => [...cmd.flags, ...commonFlags];

/** The table as `util.parseArgs` options: numbers travel as strings; each alias is an option of its own. */
export const parseArgsOptions = (cmd: Command): NonNullable<ParseArgsConfig['options']> =>
  Object.fromEntries(allFlags(cmd).flatMap((f) => {
    const type = f.type === 'boolean' ? 'boolean' as const : 'string' as const;
    return [[f.name, f.short ? { type, short: f.short } : { type }], ...(f.aliases ?? []).map((a) => [a, { type }] as const)];
  }));

const isNumeric = (s: string): boolean => s.trim() !== '' && Number.isFinite(Number(s));

/** "an integer ≥ 1", "a number": what a numeric flag accepts, for its message. */
const expected = (f: Flag): string =>
  `${f.type === 'integer' ? 'an integer' : 'a number'}${f.min !== undefined ? ` ≥ ${f.min}` : ''}`;

const listed = (xs: readonly string[]): string => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`);

/** A flag's text as its value, or the reason it is not one. */
const flagValue = (f: Flag, raw: string): E.Either<string, string | number> => {
  if (f.type === 'number' || f.type === 'integer') {
    const x = Number(raw);
    const ok = isNumeric(raw) && (f.type === 'number' || Number.isInteger(x)) && (f.min === undefined || x >= f.min);
    return ok ? E.right(x) : E.left(`expected ${expected(f)}, got "${raw}"`);
  }
  if (f.choices && !f.choices.includes(raw)) return E.left(`expected ${listed(f.choices)}, got "${raw}"`);
  return E.right(raw);
};

const fail = (message: string): E.Either<UsageError, never> => E.left(new UsageError(message));

/**
 * argv → what to do: print the help, print the version, or run with these values. `-h`/`--help`
 * anywhere wins over every mistake (so a user who is stuck always gets the help); then the first
 * mistake in argv order is the answer.
 */
export const parseCommand = <C extends Command>(cmd: C) => (argv: readonly string[]): E.Either<UsageError, Invocation<C>> => {
  const flags = allFlags(cmd);
  const byName = new Map<string, Flag>(flags.flatMap((f) => [[f.name, f] as const, ...(f.aliases ?? []).map((a) => [a, f] as const)]));
  let tokens: ReturnType<typeof parseArgs>['tokens'];
  try {
    ({ tokens } = parseArgs({ args: [...argv], options: parseArgsOptions(cmd), strict: false, allowPositionals: true, tokens: true }));
  } catch (e) {
    return fail((e as Error).message.split('\n')[0]);
  }
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return E.right({ kind: 'help' });
  if (tokens.some((t) => t.kind === 'option' && t.name === 'version')) return E.right({ kind: 'version' });

  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const spelled = new Set<string>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      if (cmd.positionals === undefined || positionals.length >= cmd.positionals.max) {
        return fail(`"${t.value}": unexpected argument (flags start with --; see --help)`);
      }
      positionals.push(t.value);
      continue;
    }
    const f = byName.get(t.name);
    if (f === undefined) return fail(`${t.rawName}: unknown flag (see --help)`);
    const label = `--${f.name}`;
    if (f.type === 'boolean') {
      if (t.value !== undefined) return fail(`${label}: takes no value, got "${t.value}"`);
      values[f.name] = true;
    } else {
      // `--n --steps 3`: parseArgs would take "--steps" as the value of --n; a negative number is a value
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && !isNumeric(t.value))) {
        return fail(`${label}: needs a value${f.value ? ` (${label} ${f.value})` : ''}`);
      }
      const v = flagValue(f, t.value);
      if (E.isLeft(v)) return fail(`${label}: ${v.left}`);
      values[f.name] = v.right;
    }
    given.add(f.name);
    spelled.add(t.name);
  }
  for (const f of cmd.flags) {
    if (given.has(f.name)) continue;
    if (f.required) return fail(`--${f.name}: required (see --help)`);
    values[f.name] = f.type === 'boolean' ? (f.default ?? false) : f.default;
  }
  const p = cmd.positionals;
  if (p !== undefined && positionals.length < p.min) return fail(`${p.name}: missing (usage: ${cmd.usage[0]})`);
  return E.right({ kind: 'run', values: values as Values<C>, positionals, given, spelled });
};

// ---- help ------------------------------------------------------------------------------------------

const WIDTH = 100;

/** Words of `text` in lines of at most `width` characters. */
const wrap = (text: string, width: number): string[] => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return line === '' ? lines : [...lines, line];
};

const label = (f: Flag): string =>
  `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.value ? ` ${f.value}` : ''}`;

/** What the help says a flag defaults to: its `shownDefault`, else its `default` (booleans: none). */
export const shownDefault = (f: Flag): string | undefined =>
  f.shownDefault ?? (f.type !== 'boolean' && f.default !== undefined ? String(f.default) : undefined);

const describe = (f: Flag): string => {
  const d = shownDefault(f);
  const notes = [...(f.required ? ['required'] : d !== undefined ? [`default ${d}`] : []), ...(f.aliases ?? []).map((a) => `also --${a}`)];
  return notes.length > 0 ? `${f.description} (${notes.join('; ')})` : f.description;
};

/**
 * A line of a paragraph, wrapped. An indented line keeps its indent, and a line laid out as a
 * column (`  tiny       a CI-sized run …`) continues under its second column.
 */
const paragraphLine = (line: string): string[] => {
  const head = /^( *)(\S+ {2,})?/.exec(line)?.[0] ?? '';
  if (head === '') return line === '' ? [''] : wrap(line, WIDTH);
  return wrap(line.slice(head.length), WIDTH - head.length).map((l, i) => `${i === 0 ? head : ' '.repeat(head.length)}${l}`);
};

/** The `--help` text: usage, the paragraph, every flag with its default, the notes. */
export const helpText = (cmd: Command): string => {
  const flags = allFlags(cmd);
  const column = Math.min(30, Math.max(...flags.map((f) => label(f).length)) + 2);
  const rows = flags.flatMap((f) => {
    const text = wrap(describe(f), WIDTH - column - 2);
    const head = `  ${label(f)}`;
    return head.length + 1 > column + 2
      ? [head, ...text.map((l) => `${' '.repeat(column + 2)}${l}`)]
      : text.map((l, i) => `${i === 0 ? head.padEnd(column + 2) : ' '.repeat(column + 2)}${l}`);
  });
  const para = (s: string | undefined): string[] => (s === undefined ? [] : ['', ...s.split('\n').flatMap(paragraphLine)]);
  const p = cmd.positionals;
  return [
    ...cmd.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${u}`),
    ...para(cmd.about),
    ...(p ? ['', `  ${p.name.padEnd(column)}${p.description}`] : []),
    '',
    'Flags:',
    ...rows,
    ...para(cmd.notes),
  ].join('\n');
};
