/**
 * Chromium for the browser tests and the web benchmark: Debian's `chromium` driven by
 * playwright-core through its executable path (no browser download), headless, with WebGL2 on
 * SwiftShader. `openPage` builds the page (once per folder), serves it and opens it, recording
 * console errors and uncaught page errors.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildWeb, type BuildReport, root } from '../../scripts/web/build.ts';
import { serveStatic, type StaticServer } from '../../scripts/web/serve.ts';

/** The browser binary: CHROMIUM_PATH, or Debian's package. */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';

export const launchChromium = (): Promise<Browser> => chromium.launch({
  executablePath: chromiumPath(),
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});

export interface OpenedPage {
  readonly page: Page;
  readonly server: StaticServer;
  /** console messages of type error and uncaught exceptions, in order */
  readonly errors: string[];
  close(): Promise<void>;
}

const builds = new Map<string, Promise<BuildReport>>();

/** The page built into runs/tmp/<name> (once per process). */
export const builtPage = (name = 'web-test'): { dir: string; report: Promise<BuildReport> } => {
  const dir = join(root, 'runs', 'tmp', name);
  if (!builds.has(dir)) builds.set(dir, buildWeb(dir));
  return { dir, report: builds.get(dir) as Promise<BuildReport> };
};

/** Serves the built page and opens it in a new page of `browser` (query string `query`, e.g. '?compare=0'). */
export const openPage = async (browser: Browser, opts: { readonly query?: string; readonly isolate?: boolean; readonly dir?: string } = {}): Promise<OpenedPage> => {
  const built = builtPage();
  await built.report;
  const server = await serveStatic(opts.dir ?? built.dir, { isolate: opts.isolate ?? true });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 1300 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  await page.goto(`${server.url}${opts.query ?? ''}`);
  return {
    page, server, errors,
    close: async () => {
      await context.close();
      await server.close();
    },
  };
};
