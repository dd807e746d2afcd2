/** Minimal `--flag value` parsing for the sampling and picture scripts (train.ts validates its own config with io-ts). */
export interface Args {
  readonly get: (name: string) => string | undefined;
  readonly has: (name: string) => boolean;
  readonly number: (name: string, fallback: number) => number;
}

export const parseArgs = (argv: readonly string[], booleans: readonly string[], known: readonly string[]): Args => {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}" (flags start with --)`);
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (!known.includes(name) && !booleans.includes(name)) throw new Error(`unknown flag --${name} (see --help)`);
    if (booleans.includes(name)) {
      values.set(name, eq >= 0 ? a.slice(eq + 1) : 'true');
      continue;
    }
    const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new Error(`--${name} needs a value`);
    values.set(name, v);
  }
  return {
    get: (n) => values.get(n),
    has: (n) => values.has(n) && values.get(n) !== 'false',
    number: (n, fallback) => {
      const v = values.get(n);
      if (v === undefined) return fallback;
      const x = Number(v);
      if (v.trim() === '' || !Number.isFinite(x)) throw new Error(`--${n}: expected a number, got "${v}"`);
      return x;
    },
  };
};
