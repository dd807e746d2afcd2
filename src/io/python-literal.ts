/**
 * A parser for the small subset of Python literals that a .npy header uses:
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`. Strings, ints (with the
 * Python 2 `L` suffix), True/False/None, tuples, lists and dicts with string keys. Tuples and
 * lists become arrays, dicts become Maps (no prototype keys). Nesting is bounded so a
 * hostile header cannot exhaust the stack.
 */
import * as E from 'fp-ts/lib/Either.js';

export type PyValue = string | number | boolean | null | readonly PyValue[] | ReadonlyMap<string, PyValue>;

const MAX_DEPTH = 16;

class ParseFailure {
  constructor(readonly reason: string) {}
}

export const parsePythonLiteral = (text: string): E.Either<string, PyValue> => {
  let at = 0;
  const fail = (what: string): never => {
    throw new ParseFailure(`${what} at character ${at}`);
  };
  const skipSpace = (): void => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const expectChar = (c: string): void => {
    skipSpace();
    if (text[at] !== c) fail(`expected '${c}'`);
    at++;
  };
  const string = (): string => {
    const quote = text[at]!;
    at++;
    let out = '';
    while (at < text.length && text[at] !== quote) {
      if (text[at] === '\\') {
        at++;
        if (at >= text.length) break;
      }
      out += text[at];
      at++;
    }
    if (at >= text.length) fail('unterminated string');
    at++;
    return out;
  };
  const sequence = (close: string, depth: number): PyValue[] => {
    const items: PyValue[] = [];
    for (;;) {
      skipSpace();
      if (text[at] === close) {
        at++;
        return items;
      }
      items.push(value(depth + 1));
      skipSpace();
      if (text[at] === ',') at++;
      else if (text[at] !== close) fail(`expected ',' or '${close}'`);
    }
  };
  const dict = (depth: number): Map<string, PyValue> => {
    const out = new Map<string, PyValue>();
    for (;;) {
      skipSpace();
      if (text[at] === '}') {
        at++;
        return out;
      }
      if (text[at] !== "'" && text[at] !== '"') fail('expected a string key');
      const key = string();
      if (out.has(key)) fail(`duplicate key '${key}'`);
      expectChar(':');
      out.set(key, value(depth + 1));
      skipSpace();
      if (text[at] === ',') at++;
      else if (text[at] !== '}') fail("expected ',' or '}'");
    }
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    skipSpace();
    const c = text[at];
    if (c === "'" || c === '"') return string();
    if (c === '(') return (at++, sequence(')', depth));
    if (c === '[') return (at++, sequence(']', depth));
    if (c === '{') return (at++, dict(depth));
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    const number = /^-?\d+L?/.exec(text.slice(at, at + 40));
    if (number === null) return fail('expected a value');
    at += number[0].length;
    return Number(number[0].replace('L', ''));
  };
  try {
    const result = value(0);
    skipSpace();
    if (at !== text.length) fail('unexpected text after the value');
    return E.right(result);
  } catch (e) {
    if (e instanceof ParseFailure) return E.left(e.reason);
    throw e;
  }
};
