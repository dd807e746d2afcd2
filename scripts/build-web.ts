/**
 * `npm run build:web`: the browser page as a static folder (dist-web/, or --out DIR) for any static
 * host; prints the bundle sizes, which it also writes to DIR/build.json. The host must send the
 * headers in DIR/_headers (cross-origin isolation) for the fast backend to use its threads.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildWeb, defaultOutDir, describeBuild } from './web/build.ts';

const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-minify': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('usage: npx tsx scripts/build-web.ts [--out DIR (default dist-web)] [--no-minify]');
  process.exit(0);
}
const report = await buildWeb(values.out ? resolve(values.out) : defaultOutDir, { minify: !values['no-minify'] });
console.log(describeBuild(report));
