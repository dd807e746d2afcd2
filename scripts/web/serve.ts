/**
 * A small static server for the built page: the files of one folder with their content types and
 * the cross-origin isolation headers (without them, `isolate: false`, to see the page's message
 * for a host that does not send them). Only that folder is served; nothing else is reachable.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { isolationHeaders } from './build.ts';

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.safetensors': 'application/octet-stream', '.gz': 'application/gzip', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.wasm': 'application/wasm',
};

export interface StaticServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Serves `dir` on `port` (0: any free port) at 127.0.0.1. */
export const serveStatic = (dir: string, opts: { readonly port?: number; readonly isolate?: boolean; readonly host?: string } = {}): Promise<StaticServer> => {
  const base = normalize(dir + sep);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(base, path.endsWith('/') ? `${path}index.html` : path));
    const isFile = file.startsWith(base) && statSync(file, { throwIfNoEntry: false })?.isFile() === true;
    if (!isFile || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(isFile ? 405 : 404, { 'Content-Type': 'text/plain' }).end(isFile ? 'method not allowed' : 'not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache',
      ...(opts.isolate === false ? {} : isolationHeaders),
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/`, server, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
};
