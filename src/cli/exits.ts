/** How a command leaves on a user's mistake: one line on stderr, prefixed with the command's name, and exit status 2. */
import * as E from 'fp-ts/lib/Either.js';
import { type BackendName, setBackend } from '../tensor/engine.ts';

let program = '';

/** Set by the `diffusion-ts` bin: messages then read `diffusion-ts sample: …` rather than `sample: …`. */
export const runAsProgram = (name: string): void => {
  program = `${name} `;
};

/** How a command names itself on stderr: `sample`, or `diffusion-ts sample` under the bin. */
export const commandLabel = (command: string): string => `${program}${command}`;

export const exits = (command: string) => {
  const die = (msg: string): never => {
    process.stderr.write(`${commandLabel(command)}: ${msg}\n`);
    process.exit(2);
  };
  /** The value of a TaskEither, or its error's message as the one line. */
  const run = async <A>(te: () => Promise<E.Either<Error, A>>): Promise<A> => {
    const r = await te();
    return E.isLeft(r) ? die(r.left.message) : r.right;
  };
  /** `--backend NAME`: switches the engine, or leaves on an unknown name; without it the engine's default holds (fast, or DIFFUSION_BACKEND). */
  const useBackend = (name: string | undefined): void => {
    if (name === undefined) return;
    try {
      setBackend(name as BackendName);
    } catch (e) {
      die(`--backend: ${(e as Error).message}`);
    }
  };
  return { die, run, useBackend };
};
