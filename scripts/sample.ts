/**
 * `npx tsx scripts/sample.ts [flags]`: the `diffusion-ts sample` command run from the sources.
 * The command lives in src/cli/programs/sample.ts; `--help` lists its flags.
 */
import { main } from '../src/cli/programs/sample.ts';

await main(process.argv.slice(2));
