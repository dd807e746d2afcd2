/** How a command leaves on a user's mistake: one line on stderr, prefixed with the command's name, and exit status 2. */
import * as E from 'fp-ts/lib/Either.js';

export const exits = (command: string) => {
  const die = (msg: string): never => {
    process.stderr.write(`${command}: ${msg}\n`);
    process.exit(2);
  };
  /** The value of a TaskEither, or its error's message as the one line. */
  const run = async <A>(te: () => Promise<E.Either<Error, A>>): Promise<A> => {
    const r = await te();
    return E.isLeft(r) ? die(r.left.message) : r.right;
  };
  return { die, run };
};
