/**
 * `npx tsx scripts/export-model.ts [flags]`: the `diffusion-ts export-model` command run from the sources.
 * The command lives in src/cli/programs/export-model.ts; `--help` lists its flags.
 */
import { main } from '../src/cli/programs/export-model.ts';

await main(process.argv.slice(2));
