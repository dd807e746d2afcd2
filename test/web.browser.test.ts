/**
 * The browser page (issue 12) in a real Chromium (Debian's, through playwright-core): it loads
 * without console errors and measures both backends; sampling in the tab gives the images the
 * library gives in this Node process (and scripts/sample.ts) for the same model, sampler, steps and
 * seed, on the fast backend and on WebGL2 (SwiftShader), for models picked, dropped or shipped; 30 training steps in the tab lower the
 * loss, and the checkpoint it downloads loads and samples in Node. Screenshots of the page mid-sampling
 * and after training go to runs/screenshots/ (to docs/, for the README, with SCREENSHOTS=docs). No
 * main-thread task takes over 100 ms of CPU time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../src/tensor/engine.ts';
import * as R from '../src/tensor/random.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { namedNetworks, network } from '../src/train/network.ts';
import { presets } from '../src/train/config.ts';
import { modelSafetensors } from '../src/pipeline/model.ts';
import { pipelineFromFiles, type SampleOptions } from '../src/pipeline/pipeline.ts';
import { loadPipeline } from '../src/pipeline/load.ts';
import { launchChromium, type OpenedPage, openPage } from './support/browser.ts';
import type {} from '../web/main.ts'; // window.__diffusion's type

const root = join(import.meta.dirname, '..');
/** Where the screenshots go: runs/screenshots/ (gitignored), or docs/ when SCREENSHOTS=docs refreshes the README's. */
const shots = process.env.SCREENSHOTS === 'docs' ? join(root, 'docs') : join(root, 'runs', 'screenshots');
mkdirSync(shots, { recursive: true });
const shipped = join(root, 'assets', 'ddpm-mnist');


interface TraceEvent {
  readonly ph: string;
  readonly name: string;
  readonly pid: number;
  readonly tid: number;
  /** wall and thread (CPU) duration in µs */
  readonly dur?: number;
  readonly tdur?: number;
  readonly args?: { readonly name?: string };
}

/** The top-level tasks of the page's renderer main thread(s) in a Chromium trace. */
const mainThreadTasks = (events: readonly TraceEvent[]): TraceEvent[] => {
  const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  return events.filter((e) => e.ph === 'X' && main.has(`${e.pid}:${e.tid}`));
};

/** The largest |a − b|, logged with what was compared. */
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>, what: string): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  console.log(`${what}: max abs difference ${m.toExponential(2)} over ${a.length} values`);
  return m;
};

/** Fills the sampling controls and clicks Sample; resolves with the images the page drew. */
const sampleInPage = async (page: Page, o: { n: number; sampler: string; steps: number; seed: number }): Promise<{ images: number[]; backend: string }> => {
  await page.fill('#n', String(o.n));
  await page.selectOption('#sampler', o.sampler);
  await page.fill('#steps', String(o.steps));
  await page.fill('#seed', String(o.seed));
  await page.evaluate(() => { window.__diffusion.lastSamples = null; });
  await page.click('#sample');
  await page.waitForFunction(() => window.__diffusion.lastSamples !== null || window.__diffusion.errors.length > 0, null, { timeout: 240_000, polling: 200 });
  const r = await page.evaluate(() => {
    const s = window.__diffusion.lastSamples;
    return s ? { images: Array.from(s.images), backend: s.backend } : null;
  });
  expect(r, (await page.evaluate(() => window.__diffusion.errors)).join('\n')).not.toBeNull();
  return r as { images: number[]; backend: string };
};

describe('the browser page in Chromium', () => {
  let browser: Browser;
  let p: OpenedPage;

  beforeAll(async () => {
    setBackend('fast');
    browser = await launchChromium();
    p = await openPage(browser);
    // the renderer's trace gives each main-thread task's CPU time (tdur), which the OS's scheduling does not inflate
    await browser.startTracing(p.page, { categories: ['toplevel'] });
    await p.page.waitForFunction(() => window.__diffusion?.compared === true || (window.__diffusion?.errors.length ?? 0) > 0, null, { timeout: 240_000, polling: 250 });
  });

  afterAll(async () => {
    await p?.close();
    await browser?.close();
  });

  it('loads with no console errors, isolated, with both backends measured on the shipped model', async () => {
    const h = await p.page.evaluate(() => {
      const { caps, comparison, model, errors } = window.__diffusion;
      return { caps, comparison, model, errors };
    });
    expect(h.errors).toEqual([]);
    expect(p.errors).toEqual([]);
    expect(h.caps?.crossOriginIsolated).toBe(true);
    expect(h.caps?.limits).toEqual({ fast: null, 'gpujs-gpu': null });
    expect(h.model?.params).toBe(464_257);
    expect(h.comparison?.map((c) => c.backend)).toEqual(['fast', 'gpujs-gpu']);
    expect(h.comparison?.every((c) => c.msPerForward !== null && c.msPerForward > 0)).toBe(true);
    expect(await p.page.textContent('#comparison')).toMatch(/is faster on this machine/);
    expect(await p.page.textContent('#notes')).toMatch(/SwiftShader.*CPU rasteriser/);
  });

  it('fast: 8 images, 10 DDIM steps = this Node process (≤ 1e-4) and scripts/sample.ts --out x.npy', async () => {
    const opts = { n: 8, sampler: 'ddim', steps: 10, seed: 7 } as const;
    const tab = await sampleInPage(p.page, opts);
    expect(tab.backend).toBe('fast');
    // the shipped model comes with its autoguidance guide; the page fetches it and samples with it, as Node does
    expect(await p.page.evaluate(() => window.__diffusion.model?.guideScale)).toBe(2.5);
    const read = (f: string) => new Uint8Array(readFileSync(join(shipped, f)));
    const node = pipelineFromFiles({ safetensors: read('model.safetensors'), config: readFileSync(join(shipped, 'config.json'), 'utf8'), guide: read('guide.safetensors') })
      .sample({ ...opts, batch: opts.n } satisfies SampleOptions).images;
    expect(maxAbsDiff(tab.images, node, 'shipped model, fast, tab vs Node')).toBeLessThanOrEqual(1e-4);
    const out = join(mkdtempSync(join(tmpdir(), 'web-')), 'x.npy');
    execFileSync('npx', ['tsx', 'scripts/sample.ts', '--checkpoint', shipped, '--n', '8', '--steps', '10', '--sampler', 'ddim', '--seed', '7', '--out', out], { cwd: root, stdio: 'pipe' });
    const npy = decodeNpy(new Uint8Array(readFileSync(out)));
    if (E.isLeft(npy)) throw npy.left;
    expect(maxAbsDiff(tab.images, npy.right.data, 'shipped model, fast, tab vs scripts/sample.ts')).toBeLessThanOrEqual(1e-4);
  });

  it('WebGL2 (SwiftShader): a tiny checkpoint picked from disk, 8 images, 10 DDIM steps = Node (≤ 1e-3)', async () => {
    const net = network(namedNetworks.tiny);
    const bytes = modelSafetensors(net, net.init(R.key(11)), { ...presets.tiny, out: 'fixture' });
    const file = join(mkdtempSync(join(tmpdir(), 'web-')), 'tiny-fixed.safetensors');
    writeFileSync(file, bytes);
    await p.page.setInputFiles('#files', file);
    await p.page.waitForFunction(() => window.__diffusion.model?.what === 'tiny-fixed.safetensors', null, { timeout: 60_000 });
    const opts = { n: 8, sampler: 'ddim', steps: 10, seed: 3 } as const;
    const node = pipelineFromFiles({ safetensors: bytes }).sample({ ...opts, batch: opts.n }).images;
    const fast = await sampleInPage(p.page, opts);
    expect(maxAbsDiff(fast.images, node, 'tiny checkpoint, fast, tab vs Node')).toBeLessThanOrEqual(1e-4);
    await p.page.selectOption('#backend', 'gpujs-gpu');
    await p.page.waitForFunction(() => window.__diffusion.backend === 'gpujs-gpu', null, { timeout: 60_000 });
    const gl = await sampleInPage(p.page, opts);
    expect(gl.backend).toBe('gpujs-gpu');
    expect(maxAbsDiff(gl.images, node, 'tiny checkpoint, WebGL2/SwiftShader, tab vs Node')).toBeLessThanOrEqual(1e-3);
    await p.page.evaluate(() => window.__diffusion.useBackend('fast'));
  });

  it('mid-sampling: x_t and x̂0 drawn at every step with the step time (screenshot docs/web-sampling.png)', async () => {
    await p.page.selectOption('#shipped', 'ddpm-mnist');
    await p.page.waitForFunction(() => window.__diffusion.model?.what === 'ddpm-mnist (shipped)', null, { timeout: 60_000 });
    await p.page.fill('#n', '16');
    await p.page.selectOption('#sampler', 'ddpm');
    await p.page.fill('#steps', '100');
    await p.page.fill('#seed', '1');
    await p.page.evaluate(() => { window.__diffusion.lastSamples = null; });
    await p.page.click('#sample');
    await p.page.waitForFunction(() => window.__diffusion.stepTimes.length >= 60, null, { timeout: 120_000, polling: 50 });
    await p.page.screenshot({ path: join(shots, 'web-sampling.png'), fullPage: true });
    expect(await p.page.textContent('#sample-info')).toMatch(/step \d+ of 100 \(t = \d+\): [\d,]+ ms per step of 16 images/);
    await p.page.waitForFunction(() => window.__diffusion.lastSamples !== null, null, { timeout: 120_000 });
    expect(await p.page.evaluate(() => window.__diffusion.stepTimes.length)).toBe(100);
  });

  it('30 training steps in the tab lower the loss and freeze a guide at step 15; the downloaded checkpoint and guide load and sample in Node (screenshot docs/web-training.png)', async () => {
    await p.page.selectOption('#preset', 'tiny');
    await p.page.fill('#batch', '16');
    await p.page.fill('#train-steps', '30');
    await p.page.fill('#sample-every', '10');
    await p.page.fill('#guide-at', '0.5');
    await p.page.click('#train');
    await p.page.waitForFunction(() => window.__diffusion.losses.length >= 12, null, { timeout: 120_000, polling: 100 });
    // pause, check that it holds, resume
    await p.page.click('#pause');
    await p.page.waitForFunction(() => document.querySelector('#pause')?.textContent === 'Resume', null, { timeout: 30_000 });
    const paused = await p.page.evaluate(() => window.__diffusion.losses.length);
    await p.page.waitForTimeout(1500);
    expect(await p.page.evaluate(() => window.__diffusion.losses.length)).toBe(paused);
    await p.page.click('#pause');
    await p.page.waitForFunction(() => window.__diffusion.trainEnded !== null, null, { timeout: 240_000, polling: 200 });
    const h = await p.page.evaluate(() => ({ losses: window.__diffusion.losses, ended: window.__diffusion.trainEnded, grids: window.__diffusion.grids }));
    expect(h.ended).toBe('finished 30 steps');
    expect(h.losses).toHaveLength(30);
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(h.losses.slice(-5))).toBeLessThan(mean(h.losses.slice(0, 5)));
    expect(h.grids).toBe(3);
    await p.page.screenshot({ path: join(shots, 'web-training.png'), fullPage: true });
    const [download] = await Promise.all([p.page.waitForEvent('download'), p.page.click('#download')]);
    expect(download.suggestedFilename()).toBe('diffusion-tiny-step30.safetensors');
    const status = await p.page.evaluate(() => window.__diffusion.training);
    expect(status).toMatchObject({ guideStep: 15, guide: true });
    const [guideDownload] = await Promise.all([p.page.waitForEvent('download'), p.page.click('#download-guide')]);
    expect(guideDownload.suggestedFilename()).toBe('diffusion-tiny-step30.guide.safetensors');
    const dir = mkdtempSync(join(tmpdir(), 'web-'));
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    // alone first, then with the guide beside it
    const alone = await loadPipeline(file);
    expect(alone.config.guideScale).toBeUndefined();
    await guideDownload.saveAs(join(dir, guideDownload.suggestedFilename()));
    const pipe = await loadPipeline(file);
    expect(pipe.config.training?.preset).toBe('tiny');
    expect(pipe.config.guideScale).toBe(status?.guideScale);
    const s = pipe.sample({ n: 2, steps: 5, autoguidance: 2 });
    expect(s.shape).toEqual([2, 1, 28, 28]);
    expect(s.images.every(Number.isFinite)).toBe(true);
    // the guide is not the final weights: guided samples differ from the model's alone
    expect(s.images).not.toEqual(pipe.sample({ n: 2, steps: 5, autoguidance: 1 }).images);
  });

  it('the main thread never worked over 100 ms at once while sampling and training, and nothing went to the console as an error', async () => {
    const trace = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] };
    const cpu = mainThreadTasks(trace.traceEvents).map((e) => (e.tdur ?? 0) / 1000);
    const { handler, longTasks } = await p.page.evaluate(() => ({ handler: window.__diffusion.longestHandlerMs, longTasks: window.__diffusion.longTasks }));
    // the Long Tasks API and performance.now() count wall time, which on a shared 2-core machine
    // includes time the OS gave to other processes; the bound is on the thread's own CPU time per task
    console.log(`main thread: ${cpu.length} tasks traced, longest ${Math.max(...cpu).toFixed(1)} ms of CPU; ` +
      `wall time: longest handler ${handler.toFixed(1)} ms, long tasks ${longTasks.map((t) => t.ms).join(', ') || 'none'}`);
    expect(cpu.length).toBeGreaterThan(100);
    expect(Math.max(...cpu)).toBeLessThanOrEqual(100);
    expect(p.errors).toEqual([]);
  });

  // after the trace: decoding the dropped bytes is the test's own work on the page's main thread
  it('a checkpoint folder dropped on the page (the conditional model): the digit and guidance picked = Node (≤ 1e-4)', async () => {
    const folder = join(root, 'assets', 'ddpm-mnist-cond');
    const weights = readFileSync(join(folder, 'model.safetensors'));
    const config = readFileSync(join(folder, 'config.json'), 'utf8');
    const dataTransfer = await p.page.evaluateHandle(([b64, text]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const d = new DataTransfer();
      d.items.add(new File([bytes], 'model.safetensors'));
      d.items.add(new File([text], 'config.json'));
      return d;
    }, [weights.toString('base64'), config] as const);
    await p.page.dispatchEvent('#drop', 'drop', { dataTransfer });
    await p.page.waitForFunction(() => window.__diffusion.model?.what === 'model.safetensors + config.json', null, { timeout: 60_000 });
    expect(await p.page.evaluate(() => window.__diffusion.model?.numClasses)).toBe(10);
    expect(await p.page.isVisible('#digit')).toBe(true);
    await p.page.selectOption('#digit', '7');
    await p.page.fill('#guidance', '2');
    const opts = { n: 4, sampler: 'ddim', steps: 5, seed: 2 } as const;
    const tab = await sampleInPage(p.page, opts);
    const node = pipelineFromFiles({ safetensors: new Uint8Array(weights), config }).sample({ ...opts, batch: opts.n, classLabels: 7, guidance: 2 }).images;
    expect(maxAbsDiff(tab.images, node, 'dropped cond model, digit 7, w = 2, fast, tab vs Node')).toBeLessThanOrEqual(1e-4);
    expect(p.errors).toEqual([]);
  });

  it('without cross-origin isolation the page says so and samples single-threaded on the fast backend', async () => {
    const q = await openPage(browser, { isolate: false, query: '?compare=0' });
    try {
      await q.page.waitForFunction(() => window.__diffusion?.ready === true || (window.__diffusion?.errors.length ?? 0) > 0, null, { timeout: 120_000 });
      expect(await q.page.evaluate(() => window.__diffusion.caps?.crossOriginIsolated)).toBe(false);
      expect(await q.page.textContent('#notes')).toMatch(/not cross-origin isolated.*single-threaded/);
      const r = await sampleInPage(q.page, { n: 2, sampler: 'ddim', steps: 2, seed: 0 });
      expect(r.images.every(Number.isFinite)).toBe(true);
      expect(q.errors).toEqual([]);
    } finally {
      await q.close();
    }
  });
});
