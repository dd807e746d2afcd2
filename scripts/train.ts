/**
 * `npx tsx scripts/train.ts [flags]`: the `diffusion-ts train` command run from the sources.
 * The command lives in src/cli/programs/train.ts; `--help` lists its flags.
 */
import { main } from '../src/cli/programs/train.ts';

await main(process.argv.slice(2));
