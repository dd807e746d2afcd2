/**
 * `npx tsx scripts/eval.ts [flags]`: the `diffusion-ts eval` command run from the sources.
 * The command lives in src/cli/programs/eval.ts; `--help` lists its flags.
 */
import { main } from '../src/cli/programs/eval.ts';

await main(process.argv.slice(2));
