/**
 * The core runs anywhere: the browser-facing entries (the main one, /ddpm, /layers, /io) bundle for
 * a browser with no Node built-in and no `Buffer`, and GPU.js stays out of them until a GPU.js
 * backend is loaded (a chunk of its own, reached only through a dynamic import).
 */
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const entries = ['src/index.ts', 'src/ddpm/index.ts', 'src/layers/index.ts', 'src/io/index.ts'];

const bundle = async (entry: string) => {
  const r = await build({
    entryPoints: [join(root, entry)], bundle: true, platform: 'browser', format: 'esm', splitting: true, minify: false,
    outdir: join(root, 'runs', 'tmp', 'browser-core'), write: false, metafile: true, logLevel: 'silent',
  });
  const main = Object.entries(r.metafile.outputs).find(([, o]) => o.entryPoint !== undefined);
  if (!main) throw new Error(`${entry}: no entry chunk`);
  return { r, main: main[0], meta: r.metafile };
};

/** Output chunks the entry chunk loads at once (static imports, followed transitively). */
const staticClosure = (meta: Metafile, from: string): Set<string> => {
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length > 0) {
    const out = meta.outputs[queue.pop() as string];
    for (const imp of out.imports) if (imp.kind === 'import-statement' && !seen.has(imp.path)) { seen.add(imp.path); queue.push(imp.path); }
  }
  return seen;
};

describe('the core in a browser bundle', () => {
  for (const entry of entries) {
    it(`${entry} bundles for the browser: no node: module, no Buffer, GPU.js only behind a dynamic import`, { timeout: 60_000 }, async () => {
      const { r, main, meta } = await bundle(entry);
      expect(r.errors).toEqual([]);
      const inputs = Object.keys(meta.inputs);
      expect(inputs.filter((i) => i.startsWith('node:'))).toEqual([]);
      const loaded = staticClosure(meta, main);
      const loadedInputs = [...loaded].flatMap((o) => Object.keys(meta.outputs[o].inputs));
      expect(loadedInputs.filter((i) => i.includes('node_modules/gpu.js'))).toEqual([]);
      expect(loadedInputs.filter((i) => i.includes('node_modules/jimp'))).toEqual([]);
      const text = r.outputFiles.filter((f) => [...loaded].some((o) => f.path.endsWith(o.split('/').pop() as string))).map((f) => f.text).join('\n');
      expect(text).not.toMatch(/\bBuffer\.(from|alloc|concat)/);
      expect(text).not.toMatch(/from ["']node:/);
    });
  }

  it('the check fails on a Node-only module (it can fail)', async () => {
    await expect(bundle('src/io/files.ts')).rejects.toThrow(/node:/);
  });
});
