/**
 * The habits that keep the code readable, checked on every `npm test`:
 * - folders import only folders below them (docs/ARCHITECTURE.md draws the layers), so the math
 *   never depends on files, training or scripts, and io stays a side module with only the codecs
 *   under it;
 * - no source file passes 400 lines (split it by concern instead).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** From the bottom up: a folder may import itself and the folders before it, except where `only` narrows it. */
const layers = ['codec', 'tensor', 'ops', 'grad', 'layers', 'ddpm', 'io', 'weights', 'train', 'eval', 'pipeline', 'cli'] as const;
const only: Partial<Record<(typeof layers)[number], readonly string[]>> = {
  // the byte codecs and file adapters know no tensors: anything may use them, they use only the codec helpers
  io: ['codec'],
};
const MAX_LINES = 400;

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });

const src = join(import.meta.dirname, '..', 'src');
const sources = files(src).map((path) => ({ path, rel: relative(src, path), text: readFileSync(path, 'utf8') }));

/** The src folder an import specifier lands in, or null (a package, or a file at src's root). */
const targetFolder = (fromRel: string, spec: string): string | null => {
  if (!spec.startsWith('.')) return null;
  const target = relative(src, join(src, fromRel, '..', spec));
  const parts = target.split('/');
  return parts.length > 1 && !target.startsWith('..') ? parts[0] : null;
};

const importsOf = (text: string): string[] =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]);

/** Every import that runs against the layering, as `file → folder/`. */
const layeringViolations = (): string[] => {
  const bad: string[] = [];
  for (const { rel, text } of sources) {
    const folder = rel.split('/')[0];
    const rank = layers.indexOf(folder as (typeof layers)[number]);
    if (!rel.includes('/')) continue; // src/index.ts and src/node.ts assemble the public entries
    if (rank < 0) {
      bad.push(`${rel}: folder src/${folder} is not in the layering (add it to test/architecture.test.ts and docs/ARCHITECTURE.md)`);
      continue;
    }
    for (const spec of importsOf(text)) {
      const to = targetFolder(rel, spec);
      if (to === null || to === folder) continue;
      const allowed = only[folder as (typeof layers)[number]] ?? layers.slice(0, rank);
      if (!allowed.includes(to)) bad.push(`${rel} → src/${to}/ (${spec})`);
    }
  }
  return bad;
};

describe('architecture', () => {
  it(`folders import only the layers below them (${layers.join(' ← ')}; io at the side)`, () => {
    expect(layeringViolations()).toEqual([]);
  });

  it('the check sees an import that runs upwards', () => {
    // a guard against a check that can never fail: the parser finds the imports it is meant to judge
    expect(targetFolder('ops/core.ts', '../grad/value-and-grad.ts')).toBe('grad');
    expect(importsOf("import { a } from '../grad/x.ts';\nexport { b } from './y.ts';")).toEqual(['../grad/x.ts', './y.ts']);
    expect(sources.some(({ text }) => importsOf(text).length > 0)).toBe(true);
  });

  it(`no source file passes ${MAX_LINES} lines`, () => {
    const long = sources.map(({ rel, text }) => [rel, text.split('\n').length - (text.endsWith('\n') ? 1 : 0)] as const).filter(([, n]) => n > MAX_LINES);
    expect(long.map(([rel, n]) => `${rel}: ${n} lines`)).toEqual([]);
  });
});
