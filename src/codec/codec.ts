/**
 * Small io-ts building blocks shared by the file-format codecs: integers with a readable
 * failure message, a prototype-safe string-keyed record, and a reporter that turns io-ts
 * errors into a `FormatError` with a path.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { FormatError } from './errors.ts';

const describe = (u: unknown): string => {
  if (typeof u === 'string') return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u);
  if (typeof u === 'number' || typeof u === 'boolean' || u === null || u === undefined) return String(u);
  if (Array.isArray(u)) return `an array of length ${u.length}`;
  return `a ${typeof u}`;
};

/** A codec for `number`s accepted by `ok`, failing with `expected <what>, got <value>`. */
export const numberWhere = (name: string, what: string, ok: (n: number) => boolean): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && ok(u),
    (u, c) => (typeof u === 'number' && ok(u) ? t.success(u) : t.failure(u, c, `expected ${what}, got ${describe(u)}`)),
    t.identity,
  );

export const NonNegativeSafeInteger = numberWhere(
  'NonNegativeSafeInteger',
  'a non-negative integer',
  n => Number.isSafeInteger(n) && n >= 0,
);

/** One of the given string literals; the failure message names the field (`unknown dtype "X"`). */
export const oneOf = <K extends string>(what: string, values: readonly K[]): t.Type<K, K, unknown> => {
  const allowed = new Set<string>(values);
  const is = (u: unknown): u is K => typeof u === 'string' && allowed.has(u);
  return new t.Type<K, K, unknown>(
    values.join(' | '),
    is,
    (u, c) => (is(u) ? t.success(u) : t.failure(u, c, `unknown ${what} ${describe(u)} (expected one of ${values.join(', ')})`)),
    t.identity,
  );
};

/** A fixed-length array: io-ts's `t.tuple` silently drops extra elements, which a format must refuse. */
export const pairOf = <A>(item: t.Type<A, A, unknown>): t.Type<readonly [A, A], readonly [A, A], unknown> =>
  new t.Type<readonly [A, A], readonly [A, A], unknown>(
    `[${item.name}, ${item.name}]`,
    (u): u is readonly [A, A] => Array.isArray(u) && u.length === 2 && item.is(u[0]) && item.is(u[1]),
    (u, c) => {
      if (!Array.isArray(u) || u.length !== 2) return t.failure(u, c, `expected a pair [begin, end], got ${describe(u)}`);
      const first = item.validate(u[0], t.appendContext(c, '0', item, u[0]));
      if (E.isLeft(first)) return first;
      const second = item.validate(u[1], t.appendContext(c, '1', item, u[1]));
      if (E.isLeft(second)) return second;
      return t.success([first.right, second.right] as const);
    },
    t.identity,
  );

export const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u);

/**
 * A string-keyed record decoded into a `Map`, so keys such as `__proto__` and `constructor`
 * are ordinary names. Fails at the first bad entry, whose key is on the error path.
 */
export const safeRecord = <A, O>(
  what: string,
  value: t.Type<A, O, unknown>,
): t.Type<ReadonlyMap<string, A>, Record<string, O>, unknown> =>
  new t.Type<ReadonlyMap<string, A>, Record<string, O>, unknown>(
    `Record<string, ${value.name}>`,
    (u): u is ReadonlyMap<string, A> => u instanceof Map,
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, `expected ${what} to be a JSON object, got ${describe(u)}`);
      const out = new Map<string, A>();
      for (const key of Object.keys(u)) {
        const entry = value.validate(u[key], t.appendContext(c, key, value, u[key]));
        if (E.isLeft(entry)) return entry;
        out.set(key, entry.right);
      }
      return t.success(out);
    },
    map => nullProtoRecord([...map].map(([k, v]) => [k, value.encode(v)] as const)),
  );

/** An object without a prototype, filled with `defineProperty` so no key is special. */
export const nullProtoRecord = <V>(entries: Iterable<readonly [string, V]>): Record<string, V> => {
  const out = Object.create(null) as Record<string, V>;
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
};

/** The first io-ts error as a `FormatError`: path from the context keys, then the message. */
export const reportFirst =
  (format: string) =>
  (errors: t.Errors): FormatError => {
    const first = errors[0];
    if (first === undefined) return new FormatError(format, [], 'invalid value');
    const path = first.context.map(entry => entry.key).filter(key => key !== '');
    const last = first.context[first.context.length - 1];
    const reason = first.message ?? `expected ${last?.type.name ?? 'a valid value'}, got ${describe(first.value)}`;
    return new FormatError(format, path, reason);
  };

export const decodeWith =
  (format: string) =>
  <A, O>(codec: t.Type<A, O, unknown>, u: unknown): E.Either<FormatError, A> =>
    E.mapLeft(reportFirst(format))(codec.decode(u));
