/**
 * `npx tsx scripts/eval-cond.ts [flags]`: the `diffusion-ts eval-cond` command run from the sources.
 * The command lives in src/cli/programs/eval-cond.ts; `--help` lists its flags.
 */
import { main } from '../src/cli/programs/eval-cond.ts';

await main(process.argv.slice(2));
