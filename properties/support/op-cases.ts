/**
 * Every primitive and composite as a case: an arbitrary of inputs and the function. The same list
 * drives the gradient laws (grad.prop.ts) and the backend conformance laws (backends.prop.ts).
 */
import fc from 'fast-check';
import type { Tensor } from '../../src/tensor/tensor.ts';
import * as O from '../../src/ops/index.ts';
import { broadcastShapes } from '../../src/tensor/shape.ts';
import { broadcastPair, dataFor, nonScalarShape, size } from './arbitraries.ts';

export interface Input {
  readonly shape: number[];
  readonly data: number[];
  /** Integer arguments (axes, indices, flags) passed as tensors: never perturbed by gradient checks. */
  readonly constant?: boolean;
}

const meta = (data: number[]): Input => ({ shape: [data.length], data, constant: true });

export interface OpCase {
  readonly name: string;
  readonly inputs: fc.Arbitrary<Input[]>;
  readonly f: (xs: Tensor[]) => Tensor;
  /** false where the function is not differentiable at generic points (comparisons, sign). */
  readonly differentiable?: boolean;
}

/** Subnormal float32 values are flushed to zero: GL shaders (like real GPUs) treat them as 0. */
const input = (shape: number[], lo = -2, hi = 2): fc.Arbitrary<Input> =>
  dataFor(shape, lo, hi).map((data) => ({ shape, data: data.map((v) => (Math.abs(v) < 1e-30 ? 0 : v)) }));

/** Values kept at least `gap` away from zero (kinks and poles). */
const awayFromZero = (shape: number[], gap = 0.1): fc.Arbitrary<Input> =>
  input(shape).map(({ data }) => ({ shape, data: data.map((v) => (v >= 0 ? v + gap : v - gap)) }));

/** Distinct values (so max/min ties, which have no derivative, do not occur). */
const distinct = (shape: number[]): fc.Arbitrary<Input> =>
  fc.integer({ min: 0, max: 1e6 }).map((seed) => {
    const n = size(shape);
    const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37 + ((seed * 7919 + i * 104729) % 1000) * 1e-4);
    for (let i = n - 1; i > 0; i--) {
      const j = (seed * 31 + i * 17) % (i + 1);
      [vals[i], vals[j]] = [vals[j], vals[i]];
    }
    return { shape, data: vals };
  });

const one = (arb: fc.Arbitrary<Input>): fc.Arbitrary<Input[]> => arb.map((x) => [x]);
const anyShape = nonScalarShape(3, 4);

const unaryCase = (name: string, f: (x: Tensor) => Tensor, arb: (s: number[]) => fc.Arbitrary<Input> = (s) => input(s), differentiable = true): OpCase =>
  ({ name, inputs: anyShape.chain((s) => one(arb(s))), f: ([x]) => f(x), differentiable });

const positive = (s: number[]): fc.Arbitrary<Input> => input(s, 0.3, 2.5);

const binaryCase = (name: string, f: (a: Tensor, b: Tensor) => Tensor, arbB: (s: number[]) => fc.Arbitrary<Input> = (s) => input(s), arbA: (s: number[]) => fc.Arbitrary<Input> = (s) => input(s), differentiable = true): OpCase => ({
  name,
  inputs: broadcastPair(3, 4).chain(([sa, sb]) => fc.tuple(arbA(sa), arbB(sb))),
  f: ([a, b]) => f(a, b),
  differentiable,
});

/** NCHW input with a conv weight whose kernel fits the padded image. */
const convInputs = (transpose: boolean): fc.Arbitrary<Input[]> =>
  fc.record({
    n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), o: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 3, max: 6 }), w: fc.integer({ min: 3, max: 6 }),
    k: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 1 }),
  }).chain((p) => fc.tuple(
    input([p.n, p.c, p.h, p.w]),
    input(transpose ? [p.c, p.o, p.k, p.k] : [p.o, p.c, p.k, p.k]),
    input([p.o]),
    fc.constant(meta([p.stride, Math.min(p.pad, p.k - 1)])),
  ));

/** A stride-1 3×3 conv with enough input channels for conv2d's Winograd path (where the backend has it). */
const winogradInputs: fc.Arbitrary<Input[]> = fc.record({
  n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: O.winogradMinChannels, max: O.winogradMinChannels + 2 }),
  o: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 7 }), w: fc.integer({ min: 1, max: 7 }),
  pad: fc.integer({ min: 0, max: 2 }),
}).filter((p) => p.h + 2 * p.pad >= 3 && p.w + 2 * p.pad >= 3).chain((p) => fc.tuple(
  input([p.n, p.c, p.h, p.w]), input([p.o, p.c, 3, 3]), input([p.o]), fc.constant(meta([1, p.pad])),
));

const conv = ([x, w, b, sp]: Tensor[], transpose: boolean): Tensor => {
  const [stride, padding] = O.stopGradient(sp).backend.read(sp.storage.handle, 2);
  return transpose ? O.convTranspose2d(x, w, b, { stride, padding }) : O.conv2d(x, w, b, { stride, padding });
};

/** An axis list drawn for a shape. */
const withAxes = (arb: (s: number[]) => fc.Arbitrary<Input>) =>
  anyShape.chain((s) => fc.tuple(arb(s), fc.subarray(s.map((_, i) => i), { minLength: 1 })));

const reduceCase = (name: string, f: (x: Tensor, axes: number[]) => Tensor, arb: (s: number[]) => fc.Arbitrary<Input> = (s) => input(s)): OpCase => ({
  name,
  inputs: withAxes(arb).map(([x, axes]) => [x, meta(axes)]),
  f: ([x, axes]) => f(x, Array.from(axes.backend.read(axes.storage.handle, axes.size))),
});

export const opCases: readonly OpCase[] = [
  unaryCase('neg', O.neg),
  unaryCase('exp', O.exp),
  unaryCase('log', O.log, positive),
  unaryCase('sqrt', O.sqrt, positive),
  unaryCase('rsqrt', O.rsqrt, positive),
  unaryCase('reciprocal', O.reciprocal, positive),
  unaryCase('square', O.square),
  unaryCase('abs', O.abs, (s) => awayFromZero(s)),
  unaryCase('sign', O.sign, (s) => awayFromZero(s), false),
  unaryCase('sin', O.sin),
  unaryCase('cos', O.cos),
  unaryCase('tanh', O.tanh),
  unaryCase('sigmoid', O.sigmoid),
  unaryCase('relu', O.relu, (s) => awayFromZero(s)),
  unaryCase('erf', O.erf),
  unaryCase('silu', O.silu),
  unaryCase('gelu', O.gelu),
  binaryCase('add', O.add),
  binaryCase('sub', O.sub),
  binaryCase('mul', O.mul),
  binaryCase('div', O.div, (s) => awayFromZero(s, 0.5)),
  binaryCase('pow', O.pow, (s) => input(s, -1.5, 1.5), positive),
  binaryCase('maximum', O.maximum, (s) => awayFromZero(s, 0.05), (s) => input(s, -0.04, 0.04)),
  binaryCase('minimum', O.minimum, (s) => awayFromZero(s, 0.05), (s) => input(s, -0.04, 0.04)),
  binaryCase('greater', O.greater, undefined, undefined, false),
  binaryCase('lessEqual', O.lessEqual, undefined, undefined, false),
  binaryCase('equal', (a, b) => O.equal(O.sign(a), O.sign(b)), undefined, undefined, false),
  {
    name: 'where',
    inputs: broadcastPair(3, 3).chain(([sa, sb]) => fc.tuple(input(sa).map((c) => ({ ...c, constant: true })), input(sb), input(sb))),
    f: ([c, a, b]) => O.where(O.greater(O.stopGradient(c), 0), a, b),
  },
  reduceCase('sum', (x, axes) => O.sum(x, axes)),
  reduceCase('mean', (x, axes) => O.mean(x, axes, true)),
  reduceCase('max', (x, axes) => O.max(x, axes), distinct),
  reduceCase('min', (x, axes) => O.min(x, axes, true), distinct),
  reduceCase('logsumexp', (x, axes) => O.logsumexp(x, axes)),
  reduceCase('variance', (x, axes) => O.variance(x, axes)),
  {
    name: 'matmul',
    inputs: fc.record({ b: fc.integer({ min: 0, max: 2 }), m: fc.integer({ min: 1, max: 5 }), k: fc.integer({ min: 1, max: 5 }), n: fc.integer({ min: 1, max: 5 }), ta: fc.boolean(), tb: fc.boolean(), shared: fc.integer({ min: 0, max: 2 }) })
      .chain((p) => {
        const batchA = p.b === 0 || p.shared === 1 ? [] : [p.b];
        const batchB = p.b === 0 || p.shared === 2 ? [] : [p.b];
        return fc.tuple(
          input([...batchA, ...(p.ta ? [p.k, p.m] : [p.m, p.k])]),
          input([...batchB, ...(p.tb ? [p.n, p.k] : [p.k, p.n])]),
          fc.constant(meta([p.ta ? 1 : 0, p.tb ? 1 : 0])),
        );
      }),
    f: ([a, b, t]) => {
      const [ta, tb] = t.backend.read(t.storage.handle, 2);
      return O.matmul(a, b, ta === 1, tb === 1);
    },
  },
  {
    name: 'reshape+permute',
    inputs: fc.integer({ min: 2, max: 4 }).chain((r) => fc.tuple(input(Array.from({ length: r }, (_, i) => i + 2)), fc.shuffledSubarray([...Array(r).keys()], { minLength: r, maxLength: r })))
      .map(([x, perm]) => [x, meta(perm)]),
    f: ([x, p]) => O.reshape(O.permute(x, Array.from(p.backend.read(p.storage.handle, p.size))), [-1]),
  },
  unaryCase('transpose', (x) => O.transpose(x, 0, -1)),
  {
    name: 'broadcastTo',
    inputs: broadcastPair(3, 4).chain(([a, b]) => fc.tuple(input(a), fc.constant(meta(broadcastShapes('test', a, b))))),
    f: ([x, target]) => O.broadcastTo(x, Array.from(target.backend.read(target.storage.handle, target.size))),
  },
  {
    name: 'slice',
    inputs: anyShape.chain((s) => fc.tuple(input(s), fc.tuple(...s.map((d) => fc.integer({ min: 0, max: d - 1 }))))).map(([x, b]) => [x, meta(b)]),
    f: ([x, b]) => {
      const begin = Array.from(b.backend.read(b.storage.handle, b.size));
      return O.slice(x, begin, begin.map((v, d) => Math.max(1, Math.floor((x.shape[d] - v) / 2))));
    },
  },
  {
    name: 'pad',
    inputs: anyShape.chain((s) => fc.tuple(input(s), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2 * s.length, maxLength: 2 * s.length }))).map(([x, p]) => [x, meta(p)]),
    f: ([x, p]) => {
      const ps = Array.from(p.backend.read(p.storage.handle, p.size));
      const r = x.shape.length;
      return O.pad(x, ps.slice(0, r), ps.slice(r), 0.5);
    },
  },
  {
    name: 'concat',
    inputs: fc.tuple(anyShape, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.nat()).chain(([s, n1, n2, ax]) => {
      const a = ax % s.length;
      return fc.tuple(input(s), input(s.map((d, i) => (i === a ? n1 : d))), input(s.map((d, i) => (i === a ? n2 : d))), fc.constant(meta([a])));
    }),
    f: ([a, b, c, ax]) => O.concat([a, b, c], ax.backend.read(ax.storage.handle, 1)[0]),
  },
  {
    name: 'split',
    inputs: fc.tuple(anyShape.filter((s) => s[0] >= 2)).chain(([s]) => one(input(s))),
    f: ([x]) => {
      const [a, b] = O.split(x, [1, x.shape[0] - 1], 0);
      return O.add(O.sum(a), O.sum(O.square(b)));
    },
  },
  {
    name: 'gather',
    inputs: anyShape.chain((s) => fc.tuple(input(s), fc.nat(), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }))).map(([x, ax, idx]) => {
      const a = ax % x.shape.length;
      return [x, meta(idx.map((i) => i % x.shape[a])), meta([a])];
    }),
    f: ([x, idx, ax]) => O.gather(x, O.stopGradient(idx), ax.backend.read(ax.storage.handle, 1)[0]),
  },
  { name: 'conv2d', inputs: convInputs(false), f: (xs) => conv(xs, false) },
  { name: 'conv2d 3×3 (Winograd)', inputs: winogradInputs, f: (xs) => conv(xs, false) },
  { name: 'convTranspose2d', inputs: convInputs(true), f: (xs) => conv(xs, true) },
  {
    name: 'maxPool2d',
    inputs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 2, max: 6 })).chain(([n, c, h]) => one(distinct([n, c, h, h + 1]))),
    f: ([x]) => O.maxPool2d(x, { kernel: 2, stride: 2, padding: x.shape[2] % 2 }),
  },
  {
    name: 'avgPool2d',
    inputs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 3, max: 6 })).chain(([n, c, h]) => one(input([n, c, h, h]))),
    f: ([x]) => O.avgPool2d(x, { kernel: 3, stride: 2, padding: 1 }),
  },
  {
    name: 'upsampleNearest',
    inputs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })).chain(([n, c, h]) => one(input([n, c, h, h + 1]))),
    f: ([x]) => O.upsampleNearest(x, 2),
  },
  {
    name: 'softmax',
    inputs: anyShape.chain((s) => one(input(s))),
    f: ([x]) => O.softmax(x, -1),
  },
  {
    name: 'logSoftmax',
    inputs: anyShape.chain((s) => one(input(s))),
    f: ([x]) => O.logSoftmax(x, 0),
  },
  {
    name: 'linear',
    inputs: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })).chain(([n, i, o]) => fc.tuple(input([n, i]), input([o, i]), input([o]))),
    f: ([x, w, b]) => O.linear(x, w, b),
  },
  {
    name: 'layerNorm',
    inputs: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 })).chain(([n, d]) => fc.tuple(input([n, d]), input([d]), input([d]))),
    f: ([x, w, b]) => O.layerNorm(x, w, b, 1),
  },
  {
    name: 'groupNorm',
    inputs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })).chain(([n, g, cpg, h]) =>
      fc.tuple(input([n, g * cpg, h, h + 1]), input([g * cpg]), input([g * cpg]), fc.constant(meta([g])))),
    f: ([x, w, b, g]) => O.groupNorm(x, g.backend.read(g.storage.handle, 1)[0], w, b),
  },
  {
    name: 'groupNormAct (scale, shift, SiLU)',
    inputs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })).chain(([n, g, cpg, h]) =>
      fc.tuple(input([n, g * cpg, h, h + 1]), input([g * cpg]), input([g * cpg]), input([n, g * cpg]), input([n, g * cpg]), fc.constant(meta([g])))),
    f: ([x, w, b, scale, shift, g]) => O.groupNormAct(x, g.backend.read(g.storage.handle, 1)[0], w, b, { scale, shift }),
  },
  {
    name: 'groupNormAct (no affine, identity)',
    inputs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 2, max: 9 })).chain(([n, g, cpg, l]) =>
      fc.tuple(input([n, g * cpg, l]), fc.constant(meta([g])))),
    f: ([x, g]) => O.groupNormAct(x, g.backend.read(g.storage.handle, 1)[0], null, null, { act: 'identity' }),
  },
  {
    name: 'batchNorm(train)',
    inputs: fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([n, c, h]) => fc.tuple(input([n, c, h, h]), input([c]), input([c]))),
    f: ([x, w, b]) => O.batchNorm(x, w, b, { runningMean: O.zeros([x.shape[1]], x.backend), runningVar: O.ones([x.shape[1]], x.backend) }, { training: true }).y,
  },
  {
    name: 'batchNorm(eval)',
    inputs: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([n, c]) => fc.tuple(input([n, c, 2, 2]), input([c]), input([c]), input([c]), input([c], 0.5, 2))),
    f: ([x, w, b, rm, rv]) => O.batchNorm(x, w, b, { runningMean: rm, runningVar: rv }, { training: false }).y,
  },
  {
    name: 'attention',
    inputs: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 })).chain(([b, n, m, d]) => fc.tuple(input([b, n, d]), input([b, m, d]), input([b, m, d]))),
    f: ([q, k, v]) => O.scaledDotProductAttention(q, k, v),
  },
  {
    name: 'dropout',
    inputs: anyShape.chain((s) => fc.tuple(input(s), input(s, 0, 1).map((u) => ({ ...u, constant: true })))),
    f: ([x, u]) => O.dropoutWithUniform(x, O.stopGradient(u), 0.3),
  },
  {
    name: 'mseLoss',
    inputs: anyShape.chain((s) => fc.tuple(input(s), input(s))),
    f: ([a, b]) => O.mseLoss(a, b),
  },
  {
    name: 'crossEntropy',
    inputs: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 5 })).chain(([n, c]) => fc.tuple(input([n, c]), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }).map(meta))),
    f: ([logits, labels]) => O.crossEntropy(logits, O.stopGradient(labels)),
  },
];
