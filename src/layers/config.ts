/**
 * io-ts building blocks for network configs. A config codec accepts exactly its fields — an unknown
 * field is refused, so a misspelt option cannot silently fall back to its default — and then runs
 * the cross-field checks (channels divisible by groups, …), each failure saying what to change.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { decodeWith, isPlainObject, numberWhere } from '../codec/codec.ts';
import type { FormatError } from '../codec/errors.ts';

export const PositiveInt = numberWhere('PositiveInt', 'a positive integer', (n) => Number.isSafeInteger(n) && n > 0);
export const NonNegativeInt = numberWhere('NonNegativeInt', 'a non-negative integer', (n) => Number.isSafeInteger(n) && n >= 0);

export const strictConfig = <P extends t.Props>(
  name: string,
  props: P,
  check: (cfg: Readonly<t.TypeOf<t.TypeC<P>>>) => readonly string[],
): t.Type<Readonly<t.TypeOf<t.TypeC<P>>>, t.OutputOf<t.TypeC<P>>, unknown> => {
  const base = t.type(props);
  type A = Readonly<t.TypeOf<typeof base>>;
  const unknownFields = (u: Record<string, unknown>) => Object.keys(u).filter((k) => !Object.hasOwn(props, k));
  return new t.Type<A, t.OutputOf<typeof base>, unknown>(
    name,
    (u): u is A => isPlainObject(u) && base.is(u) && unknownFields(u).length === 0 && check(u).length === 0,
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, `expected ${name} to be an object`);
      const extra = unknownFields(u);
      if (extra.length > 0) return t.failure(u, c, `unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
      return pipe(base.validate(u, c), E.chain((cfg) => {
        const problems = check(cfg);
        return problems.length > 0 ? t.failure(u, c, problems.join('; ')) : t.success(cfg);
      }));
    },
    (a) => base.encode(a as t.TypeOf<typeof base>),
  );
};

/** Decodes a config given in full, or as overrides of `defaults` (an object with some of the fields). */
export const decodeConfig = <A, O>(codec: t.Type<A, O, unknown>, defaults: A) =>
  (u: unknown): E.Either<FormatError, A> =>
    decodeWith(codec.name)(codec, isPlainObject(u) ? { ...defaults, ...u } : u);

/** "every … must …" checks read better with the offending values listed. */
export const offending = (what: string, values: readonly number[]): string[] =>
  values.length > 0 ? [`${what} (got ${values.join(', ')})`] : [];
