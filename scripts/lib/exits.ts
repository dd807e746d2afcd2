/** Moved to src/cli/exits.ts; this re-export serves the scripts that still import it here. */
export { exits } from '../../src/cli/exits.ts';
