/**
 * `npm run web`: builds the browser page (as build:web does) and serves it locally with the
 * headers it needs (cross-origin isolation, content types) at http://localhost:PORT/.
 * Flags: --port N (default 8080), --host H (default 127.0.0.1), --no-build (serve dist-web as it is),
 * --no-isolation (leave out COOP/COEP, to see what the page says on a host without them).
 */
import { parseArgs } from 'node:util';
import { buildWeb, defaultOutDir, describeBuild } from './web/build.ts';
import { serveStatic } from './web/serve.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' },
    'no-build': { type: 'boolean' }, 'no-isolation': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npm run web -- [--port 8080] [--host 127.0.0.1] [--no-build] [--no-isolation]');
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`web: --port: expected a port number, got "${values.port}"`);
  process.exit(2);
}
if (!values['no-build']) console.log(describeBuild(await buildWeb(defaultOutDir)));
const s = await serveStatic(defaultOutDir, { port, host: values.host, isolate: !values['no-isolation'] });
console.log(`serving ${defaultOutDir} at ${s.url} (Ctrl-C stops)`);
