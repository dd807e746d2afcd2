/**
 * `npx tsx scripts/forward.ts [flags]`: the `diffusion-ts forward` command run from the sources.
 * The command lives in src/cli/programs/forward.ts; `--help` lists its flags.
 */
import { main } from '../src/cli/programs/forward.ts';

await main(process.argv.slice(2));
