/**
 * docs/TUTORIAL.md runs as written: its ```ts blocks, in order, are one program. The package's
 * import specifiers (`diffusion-ts`, `diffusion-ts/ddpm`, …) are pointed at the sources through
 * package.json's own exports map (dist/X.js ↔ src/X.ts), so the test needs no build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { default: string }> };

/** `diffusion-ts/ddpm` → the absolute path of src/ddpm/index.ts, for every entry of the exports map. */
const sourceOf = (specifier: string): string => {
  const sub = specifier === pkg.name ? '.' : `.${specifier.slice(pkg.name.length)}`;
  const target = pkg.exports[sub];
  if (target === undefined || typeof target === 'string') throw new Error(`the tutorial imports ${specifier}, which package.json does not export`);
  return join(root, target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
};

const tutorialProgram = (markdown: string): string =>
  [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .join('\n')
    .replace(new RegExp(`from '(${pkg.name}(?:/[a-z]+)?)'`, 'g'), (_, spec: string) => `from '${sourceOf(spec)}'`);

describe('docs/TUTORIAL.md', () => {
  it('runs from top to bottom: the loss falls, the weights reload, the pictures are written', () => {
    const program = tutorialProgram(readFileSync(join(root, 'docs', 'TUTORIAL.md'), 'utf8'));
    expect(program.split('\n').length).toBeGreaterThan(40);
    const dir = mkdtempSync(join(tmpdir(), 'tutorial-'));
    writeFileSync(join(dir, 'tutorial.mts'), program);
    const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['tutorial.mts'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const losses = [...r.stdout.matchAll(/step (\d+): loss ([\d.]+)/g)].map((m) => Number(m[2]));
    expect(losses.length).toBe(4);
    expect(losses[3]).toBeLessThan(losses[0]);
    expect(r.stdout).toContain('reloaded the same weights: true');
    for (const f of ['forward.png', 'samples.png', 'model.safetensors', 'sevens.png']) expect(existsSync(join(dir, 'tutorial-out', f)), f).toBe(true);
  });
});
