/** The commands' printing and exiting moved to src/cli/cli.ts; this re-export serves the scripts that still import it here. */
export { cli, type Run } from '../../src/cli/cli.ts';
