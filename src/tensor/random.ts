/**
 * Counter-based randomness on the host, JAX-style: a key is an immutable value, every sampler is a
 * pure function of (key, count, parameters), and a key is never advanced, only `split` or `fold`ed
 * into new keys. Samplers return typed arrays; the tensor layer wraps them, so every backend gets
 * the same numbers from the same key.
 *
 * The generator is Philox-4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
 * as 1, 2, 3", SC 2011), bit-exact with Random123's `philox4x32_10`: a 10-round keyed bijection
 * on 128-bit counters. The stream of a key is the concatenation of the four output words of
 * counters (0,0,0,0), (1,0,0,0), (2,0,0,0), … — counter word 3 is a domain tag, so the counters
 * `split` and `fold` use (tags 1 and 2) never meet the sampling stream (tag 0).
 *
 * As in JAX, two samplers given the same key read the same stream (uniform(k) and normal(k) are
 * correlated): split a key once per use.
 */
import * as E from 'fp-ts/lib/Either.js';

/** A Philox key: two uint32 words. Frozen; compare with `keyEquals`. */
export type Key = { readonly k0: number; readonly k1: number };

/** The checkpoint form of a key: the algorithm is named so a future change cannot go unnoticed. */
export type KeyJSON = { readonly prng: 'philox4x32-10'; readonly key: readonly [number, number] };

export type Block = readonly [number, number, number, number];

// ---------------------------------------------------------------------------------------------
// Philox-4x32-10

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9; // golden ratio
const W1 = 0xbb67ae85; // sqrt(3) - 1

/**
 * High 32 bits of the 64-bit product of two uint32s, exact without BigInt: split both into 16-bit
 * halves so every partial product (< 2^32) and every partial sum (< 2^53) is exact in a double.
 */
const mulhi = (a: number, b: number): number => {
  const aH = a >>> 16, aL = a & 0xffff, bH = b >>> 16, bL = b & 0xffff;
  const lh = aL * bH, hl = aH * bL;
  const carry = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aH * bH + (lh >>> 16) + (hl >>> 16) + (carry >>> 16)) >>> 0;
};

/** Low 32 bits of the product: Math.imul wraps modulo 2^32; `>>> 0` reads it unsigned. */
const mullo = (a: number, b: number): number => Math.imul(a, b) >>> 0;

/** Ten Philox rounds on counter (c0..c3) under key (k0, k1); writes four words to out[at..at+3]. */
const philoxInto = (
  c0: number, c1: number, c2: number, c3: number, k0: number, k1: number,
  out: Uint32Array, at: number,
): void => {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0), lo0 = mullo(M0, c0);
    const hi1 = mulhi(M1, c2), lo1 = mullo(M1, c2);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[at] = c0;
  out[at + 1] = c1;
  out[at + 2] = c2;
  out[at + 3] = c3;
};

/** Philox-4x32-10 of one 128-bit counter under a 64-bit key, exactly as Random123 computes it. */
export const philox4x32 = (counter: Block, key: readonly [number, number]): Block => {
  const out = new Uint32Array(4);
  const u = (x: number) => x >>> 0;
  philoxInto(u(counter[0]), u(counter[1]), u(counter[2]), u(counter[3]), u(key[0]), u(key[1]), out, 0);
  return [out[0], out[1], out[2], out[3]];
};

// ---------------------------------------------------------------------------------------------
// Validation: bad arguments are programmer errors, so they throw and name the value.

const TWO32 = 4294967296;
const TWO53 = 9007199254740992;
/** Past this a typed array cannot be allocated anyway; the bound keeps counters in one word. */
const MAX_COUNT = 2 ** 32 - 1;

const show = (x: unknown): string => {
  if (typeof x === 'string') return JSON.stringify(x);
  if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean' || x == null) return String(x);
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
};

const isIndex = (x: unknown, bound: number): x is number =>
  typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < bound;

const requireCount = (fn: string, name: string, n: unknown): number => {
  if (!isIndex(n, MAX_COUNT + 1)) {
    throw new RangeError(`${fn}: ${name} must be an integer in [0, 2^32), got ${show(n)}`);
  }
  return n;
};

const requireFinite = (fn: string, name: string, x: unknown): number => {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new RangeError(`${fn}: ${name} must be a finite number, got ${show(x)}`);
  }
  return x;
};

// ---------------------------------------------------------------------------------------------
// Keys

const makeKey = (k0: number, k1: number): Key => Object.freeze({ k0: k0 >>> 0, k1: k1 >>> 0 });

/**
 * The key of a seed, as jax.random.PRNGKey: high word, low word. Seeds are integers in [0, 2^53)
 * so every seed a JS number can hold exactly is distinct.
 */
export const key = (seed: number): Key => {
  if (!isIndex(seed, TWO53)) {
    throw new RangeError(`key: seed must be an integer in [0, 2^53), got ${show(seed)}`);
  }
  return makeKey(Math.floor(seed / TWO32), seed % TWO32);
};

export const keyEquals = (a: Key, b: Key): boolean => a.k0 === b.k0 && a.k1 === b.k1;

const SAMPLE_TAG = 0;
const SPLIT_TAG = 1;
const FOLD_TAG = 2;

/** A child key from the first two words of Philox(parent, (lo, hi, 0, tag)). */
const derive = (parent: Key, index: number, tag: number): Key => {
  const out = new Uint32Array(4);
  philoxInto(index >>> 0, Math.floor(index / TWO32) >>> 0, 0, tag, parent.k0, parent.k1, out, 0);
  return makeKey(out[0], out[1]);
};

/** n independent keys: child i is Philox(key, counter (i, 0, 0, 1)). */
export const split = (k: Key, n = 2): Key[] => {
  requireCount('split', 'n', n);
  return Array.from({ length: n }, (_, i) => derive(k, i, SPLIT_TAG));
};

/**
 * The key for `data` under `k`, like jax.random.fold_in: Philox(key, counter (lo, hi, 0, 2)) for
 * data = hi·2^32 + lo, an integer in [0, 2^53) (a step number, a layer index, a worker id).
 */
export const fold = (k: Key, data: number): Key => {
  if (!isIndex(data, TWO53)) {
    throw new RangeError(`fold: data must be an integer in [0, 2^53), got ${show(data)}`);
  }
  return derive(k, data, FOLD_TAG);
};

export const keyToJSON = (k: Key): KeyJSON => ({ prng: 'philox4x32-10', key: [k.k0, k.k1] });

/**
 * Reads a key back from a checkpoint. Files are untrusted input, so a malformed value is a Left
 * whose message names the path to the problem rather than a throw.
 */
export const keyFromJSON = (json: unknown): E.Either<string, Key> => {
  if (typeof json !== 'object' || json === null) return E.left(`key: expected an object, got ${show(json)}`);
  const { prng, key: words } = json as Record<string, unknown>;
  if (prng !== 'philox4x32-10') return E.left(`key.prng: expected "philox4x32-10", got ${show(prng)}`);
  if (!Array.isArray(words) || words.length !== 2) {
    return E.left(`key.key: expected two uint32 words, got ${show(words)}`);
  }
  for (let i = 0; i < 2; i++) {
    if (!isIndex(words[i], TWO32)) return E.left(`key.key[${i}]: expected a uint32, got ${show(words[i])}`);
  }
  return E.right(makeKey(words[0], words[1]));
};

// ---------------------------------------------------------------------------------------------
// Bits

/** n words of the key's stream: words 4i..4i+3 are Philox(key, (i, 0, 0, 0)). */
export const randomBits = (k: Key, n: number): Uint32Array => streamBits(k, requireCount('randomBits', 'n', n));

const streamBits = (k: Key, n: number): Uint32Array => {
  const whole = Math.floor(n / 4);
  const out = new Uint32Array(n);
  for (let i = 0; i < whole; i++) philoxInto(i, 0, 0, SAMPLE_TAG, k.k0, k.k1, out, 4 * i);
  if (n % 4 !== 0) {
    const last = new Uint32Array(4);
    philoxInto(whole, 0, 0, SAMPLE_TAG, k.k0, k.k1, last, 0);
    out.set(last.subarray(0, n % 4), 4 * whole);
  }
  return out;
};

/**
 * The key's stream read one word at a time, for samplers that reject and so cannot know how many
 * words they need. Reads the same words as `randomBits`, in the same order.
 */
const wordStream = (k: Key): (() => number) => {
  const block = new Uint32Array(4);
  let counter = 0;
  let used = 4;
  return () => {
    if (used === 4) {
      philoxInto(counter >>> 0, Math.floor(counter / TWO32) >>> 0, 0, SAMPLE_TAG, k.k0, k.k1, block, 0);
      counter++;
      used = 0;
    }
    return block[used++];
  };
};

/**
 * A uniform integer in [0, range) for 1 ≤ range ≤ 2^32, without modulo bias: Lemire's
 * multiply-shift (2019) takes the high word of word·range and rejects the (2^32 mod range) low
 * words that would make some results one draw likelier than others.
 */
const below = (next: () => number, range: number): number => {
  if (range === TWO32) return next();
  let x = next();
  let low = mullo(x, range);
  if (low < range) {
    const threshold = (TWO32 - range) % range; // = 2^32 mod range
    while (low < threshold) {
      x = next();
      low = mullo(x, range);
    }
  }
  return mulhi(x, range);
};

// ---------------------------------------------------------------------------------------------
// Distributions

// Scratch to read a float32's bits as an int32 (adjacent float32s have adjacent bit patterns).
const F32_BITS = new Float32Array(1);
const I32_BITS = new Int32Array(F32_BITS.buffer);

/** The largest float32 strictly below the float32 x. */
const float32Below = (x: number): number => {
  if (x === 0) return -1.401298464324817e-45;
  F32_BITS[0] = x;
  I32_BITS[0] += x > 0 ? -1 : 1;
  return F32_BITS[0];
};

/**
 * Uniform float32s in [lo, hi) from words: the high 24 bits give u = m·2^-24 in [0, 1), exactly
 * the float32s a unit interval can hold evenly. lo and hi are first rounded to float32; a result
 * that rounds up to hi (as lo + (hi - lo)·u can when hi - lo spans several binades) is clamped to
 * the float32 just below it, so hi is never returned.
 */
export const uniformFromBits = (bits: Uint32Array, lo = 0, hi = 1): Float32Array => {
  const a = Math.fround(requireFinite('uniform', 'lo', lo));
  const b = Math.fround(requireFinite('uniform', 'hi', hi));
  if (!(a < b) || !Number.isFinite(b - a)) {
    throw new RangeError(`uniform: need lo < hi as float32s, got lo = ${show(lo)}, hi = ${show(hi)}`);
  }
  const width = b - a;
  const top = float32Below(b);
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const v = Math.fround(a + width * ((bits[i] >>> 8) * 2 ** -24));
    out[i] = v < b ? v : top;
  }
  return out;
};

export const uniform = (k: Key, n: number, lo = 0, hi = 1): Float32Array =>
  uniformFromBits(streamBits(k, requireCount('uniform', 'n', n)), lo, hi);

/**
 * Normal float32s by Box–Muller: words 2i and 2i+1 give u₁ = (w + 1)·2^-32 in (0, 1] (so log never
 * sees 0) and u₂ = w·2^-32 in [0, 1); r = √(−2 ln u₁), θ = 2πu₂ give out[2i] = r cos θ and
 * out[2i+1] = r sin θ. All 32 bits feed u₁ so the tails reach √(64 ln 2) ≈ 6.66σ. The arithmetic
 * is in doubles and rounded once to float32; Math.log/cos/sin are fdlibm ports on V8, so the
 * numbers are reproducible for a given engine (and, after float32 rounding, almost surely across
 * engines). Odd n drops the last sine, so a shorter draw is a prefix of a longer one.
 */
export const normal = (k: Key, n: number, mean = 0, std = 1): Float32Array => {
  requireCount('normal', 'n', n);
  requireFinite('normal', 'mean', mean);
  if (requireFinite('normal', 'std', std) < 0) throw new RangeError(`normal: std must be ≥ 0, got ${show(std)}`);
  const pairs = Math.ceil(n / 2);
  const bits = streamBits(k, 2 * pairs);
  const out = new Float32Array(n);
  for (let i = 0; i < pairs; i++) {
    const u1 = (bits[2 * i] + 1) * 2.3283064365386963e-10; // 2^-32
    const u2 = bits[2 * i + 1] * 2.3283064365386963e-10;
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    out[2 * i] = mean + std * r * Math.cos(theta);
    if (2 * i + 1 < n) out[2 * i + 1] = mean + std * r * Math.sin(theta);
  }
  return out;
};

/**
 * Uniform integers in [lo, hi), lo and hi integers with −2^31 ≤ lo < hi ≤ 2^31. Unbiased by
 * rejection (Lemire's multiply-shift), so a value may consume more than one word: the result is
 * still a pure function of (key, n, lo, hi), and a shorter draw is a prefix of a longer one.
 */
export const randint = (k: Key, n: number, lo: number, hi: number): Int32Array => {
  requireCount('randint', 'n', n);
  const ok = (x: number) => Number.isInteger(x) && x >= -(2 ** 31) && x <= 2 ** 31;
  if (!ok(lo) || !ok(hi) || !(lo < hi)) {
    throw new RangeError(
      `randint: need integers −2^31 ≤ lo < hi ≤ 2^31, got lo = ${show(lo)}, hi = ${show(hi)}`,
    );
  }
  const next = wordStream(k);
  const range = hi - lo;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + below(next, range);
  return out;
};

/**
 * A uniformly random permutation of 0..n−1 (for shuffling a dataset each epoch: `fold(k, epoch)`):
 * Fisher–Yates from the top, swap position i with an unbiased draw from [0, i].
 */
export const permutation = (k: Key, n: number): Int32Array => {
  if (!isIndex(n, 2 ** 31)) throw new RangeError(`permutation: n must be an integer in [0, 2^31), got ${show(n)}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const next = wordStream(k);
  for (let i = n - 1; i > 0; i--) {
    const j = below(next, i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
};

/**
 * 0/1 draws with P(1) = p for p in [0, 1]: out[i] = 1 iff word·2^-32 < p, so p = 0 never and
 * p = 1 always gives 1 (otherwise P(1) is within 2^-32 of p).
 */
export const bernoulli = (k: Key, n: number, p: number): Uint8Array => {
  requireCount('bernoulli', 'n', n);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new RangeError(`bernoulli: p must be in [0, 1], got ${show(p)}`);
  }
  const bits = streamBits(k, n);
  const threshold = p * TWO32;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = bits[i] < threshold ? 1 : 0;
  return out;
};
