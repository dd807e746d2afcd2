/**
 * A minimal WebAssembly binary builder: just enough of the format (types, one imported memory,
 * functions, exports, code) to author SIMD kernels in TypeScript and compile them at run time.
 *
 * A function body is written as a stack-machine instruction stream through {@link Code}, one method
 * per instruction, plus a few structured helpers (`block`, `loop`, `ifThen`, `forUp`) that emit the
 * matching `end`. Opcodes are those of the core spec and of the fixed-width SIMD proposal (prefix
 * 0xfd); their numbers, the value types and the LEB128 encoding are in wasm-binary.ts.
 */
import type { Expr } from './expr.ts';
import { mem, type MemOp, op, simd, sleb, uleb, utf8, type ValType } from './wasm-binary.ts';

export { f32, f64, i32, i64, op, simd, sleb, uleb, v128, type MemOp, type ValType } from './wasm-binary.ts';

const scratch = new DataView(new ArrayBuffer(8));

/** A function body under construction. Locals are numbered after the parameters. */
export class Code {
  readonly bytes: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  constructor(readonly params: readonly ValType[]) {}

  /** Declares a new local of type t and returns its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.params.length + this.localTypes.length - 1;
  }

  /** One core opcode without immediates, e.g. `c.op('i32_add')`. */
  op(name: keyof typeof op): this {
    this.bytes.push(op[name]);
    return this;
  }

  /** One SIMD opcode without immediates, e.g. `c.simd('f32x4_add')`. */
  simd(name: keyof typeof simd): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, simd[name]);
    return this;
  }

  /** A load or store with a constant byte offset (alignment hint: the natural one, capped by `align`). */
  mem(name: MemOp, offset = 0, align?: number): this {
    const [prefix, code, natural] = mem[name];
    if (prefix !== null) this.bytes.push(prefix);
    if (prefix === 0xfd) uleb(this.bytes, code);
    else this.bytes.push(code);
    uleb(this.bytes, Math.min(natural, align ?? natural));
    uleb(this.bytes, offset);
    return this;
  }

  get(i: number): this { this.bytes.push(0x20); uleb(this.bytes, i); return this; }
  set(i: number): this { this.bytes.push(0x21); uleb(this.bytes, i); return this; }
  tee(i: number): this { this.bytes.push(0x22); uleb(this.bytes, i); return this; }

  i32(v: number): this { this.bytes.push(0x41); sleb(this.bytes, v); return this; }

  /** Pushes the values of i32 expressions, in order (see expr.ts). */
  push(...es: readonly Expr[]): this {
    for (const e of es) {
      if (typeof e === 'number') this.get(e);
      else if ('lit' in e) this.i32(e.lit);
      else if ('select' in e) this.push(...e.select).op('select');
      else e.args.forEach((a, i) => (i === 0 ? this.push(a) : this.push(a).op(e.op)));
    }
    return this;
  }

  /** local = e. */
  let(local: number, e: Expr): this { return this.push(e).set(local); }

  f32(v: number): this {
    scratch.setFloat32(0, v, true);
    this.bytes.push(0x43);
    for (let i = 0; i < 4; i++) this.bytes.push(scratch.getUint8(i));
    return this;
  }

  f64(v: number): this {
    scratch.setFloat64(0, v, true);
    this.bytes.push(0x44);
    for (let i = 0; i < 8; i++) this.bytes.push(scratch.getUint8(i));
    return this;
  }

  /** v128.const from four f32 lanes. */
  f32x4(a: number, b = a, c = a, d = a): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, 0x0c);
    for (const v of [a, b, c, d]) {
      scratch.setFloat32(0, v, true);
      for (let i = 0; i < 4; i++) this.bytes.push(scratch.getUint8(i));
    }
    return this;
  }

  /** v128.const from four i32 lanes. */
  i32x4(a: number, b = a, c = a, d = a): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, 0x0c);
    for (const v of [a, b, c, d]) {
      scratch.setInt32(0, v | 0, true);
      for (let i = 0; i < 4; i++) this.bytes.push(scratch.getUint8(i));
    }
    return this;
  }

  f32x4ExtractLane(lane: number): this { return this.laneOp(0x1f, lane, 4); }
  f32x4ReplaceLane(lane: number): this { return this.laneOp(0x20, lane, 4); }
  f64x2ExtractLane(lane: number): this { return this.laneOp(0x21, lane, 2); }
  i32x4ExtractLane(lane: number): this { return this.laneOp(0x1b, lane, 4); }

  /** i8x16.shuffle with 16 byte-lane indices into the concatenation of the two operands. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new RangeError('shuffle: 16 lanes in [0, 32)');
    this.bytes.push(0xfd);
    uleb(this.bytes, 0x0d);
    this.bytes.push(...lanes);
    return this;
  }

  /** Shuffle of 32-bit lanes: l in [0, 8), lanes 4–7 from the second operand. */
  shuffle32(l0: number, l1: number, l2: number, l3: number): this {
    return this.shuffle([l0, l1, l2, l3].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }

  private laneOp(code: number, lane: number, lanes: number): this {
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) throw new RangeError(`lane ${lane} out of range`);
    this.bytes.push(0xfd);
    uleb(this.bytes, code);
    this.bytes.push(lane);
    return this;
  }

  call(funcIndex: number): this { this.bytes.push(0x10); uleb(this.bytes, funcIndex); return this; }
  br(depth: number): this { this.bytes.push(0x0c); uleb(this.bytes, depth); return this; }
  brIf(depth: number): this { this.bytes.push(0x0d); uleb(this.bytes, depth); return this; }

  /** i32.atomic.rmw.add (threads proposal) on [address, value]: returns the old value. Needs a shared memory. */
  atomicAdd(offset = 0): this {
    this.bytes.push(0xfe);
    uleb(this.bytes, 0x1e);
    uleb(this.bytes, 2);
    uleb(this.bytes, offset);
    return this;
  }

  /** memory.fill (bulk memory): [dest, value, byteLength] on the stack. */
  memoryFill(): this { this.bytes.push(0xfc); uleb(this.bytes, 11); this.bytes.push(0); return this; }
  /** memory.copy (bulk memory): [dest, src, byteLength] on the stack. */
  memoryCopy(): this { this.bytes.push(0xfc); uleb(this.bytes, 10); this.bytes.push(0, 0); return this; }

  /** `block … end` (a `br` to depth 0 inside `body` exits it). */
  block(body: () => void): this { return this.structured(0x02, body); }

  /** `loop … end` (a `br` to depth 0 inside `body` repeats it). */
  loop(body: () => void): this { return this.structured(0x03, body); }

  /** `if … (else …) end` on the i32 on the stack. */
  ifThen(then: () => void, otherwise?: () => void): this {
    this.bytes.push(0x04, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.bytes.push(0x05);
      otherwise();
    }
    this.bytes.push(0x0b);
    this.depth--;
    return this;
  }

  /**
   * for (i = start; i < end; i += step) body(), with i, end locals (signed compare) and start
   * pushed by `init`. Inside body, depth 0 is the loop (continue = br 0 skips the increment, so
   * use it only with care) and depth 1 the enclosing block (break).
   */
  forUp(i: number, init: () => void, end: number, step: number, body: () => void): this {
    init();
    this.set(i);
    return this.block(() => {
      this.loop(() => {
        this.get(i).get(end).op('i32_ge_s').brIf(1);
        body();
        this.get(i).i32(step).op('i32_add').set(i).br(0);
      });
    });
  }

  private structured(opcode: number, body: () => void): this {
    this.bytes.push(opcode, 0x40);
    this.depth++;
    body();
    this.bytes.push(0x0b);
    this.depth--;
    return this;
  }

  /** The code-section entry: size, local declarations (run-length by type), body, end. */
  encode(): number[] {
    if (this.depth !== 0) throw new Error('emitter: unbalanced block structure');
    const entry: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(entry, groups.length);
    for (const [n, t] of groups) {
      uleb(entry, n);
      entry.push(t);
    }
    for (const b of this.bytes) entry.push(b);
    entry.push(0x0b);
    const sized: number[] = [];
    uleb(sized, entry.length);
    return sized.concat(entry);
  }
}

export interface MemoryImport {
  readonly initialPages: number;
  readonly maximumPages?: number;
  readonly shared?: boolean;
}

interface FuncDef {
  readonly name: string;
  readonly typeIndex: number;
  readonly code: Code;
  readonly exported: boolean;
}

const section = (out: number[], id: number, content: number[]): void => {
  out.push(id);
  uleb(out, content.length);
  for (const b of content) out.push(b);
};

/**
 * A module with one imported memory (`env.memory`) and locally defined functions. Functions are
 * numbered in definition order (there are no imported functions), so `call(index)` uses the index
 * returned by {@link func} or {@link declare}.
 */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly funcs: (FuncDef | null)[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /** Reserves a function index (for calls to a function defined later by `define`). */
  declare(): number {
    this.funcs.push(null);
    return this.funcs.length - 1;
  }

  /** Defines function `index` (from `declare`). */
  define(index: number, name: string, params: readonly ValType[], results: readonly ValType[],
    body: (c: Code) => void, exported = true): number {
    const code = new Code(params);
    body(code);
    const key = `${params.join(',')}>${results.join(',')}`;
    let typeIndex = this.types.indexOf(key);
    if (typeIndex < 0) typeIndex = this.types.push(key) - 1;
    this.funcs[index] = { name, typeIndex, code, exported };
    return index;
  }

  /** Adds (and by default exports) a function; returns its index. */
  func(name: string, params: readonly ValType[], results: readonly ValType[],
    body: (c: Code) => void, exported = true): number {
    return this.define(this.declare(), name, params, results, body, exported);
  }

  encode(): Uint8Array<ArrayBuffer> {
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types: number[] = [];
    uleb(types, this.types.length);
    for (const key of this.types) {
      const [ps, rs] = key.split('>').map((s) => (s === '' ? [] : s.split(',').map(Number)));
      types.push(0x60);
      uleb(types, ps.length);
      types.push(...ps);
      uleb(types, rs.length);
      types.push(...rs);
    }
    section(out, 1, types);

    const imports: number[] = [];
    uleb(imports, 1);
    utf8(imports, 'env');
    utf8(imports, 'memory');
    imports.push(0x02);
    const { initialPages, maximumPages, shared } = this.memory;
    if (shared && maximumPages === undefined) throw new Error('emitter: a shared memory needs a maximum');
    imports.push(maximumPages === undefined ? 0x00 : shared ? 0x03 : 0x01);
    uleb(imports, initialPages);
    if (maximumPages !== undefined) uleb(imports, maximumPages);
    section(out, 2, imports);

    const defs = this.funcs.map((f, i) => {
      if (!f) throw new Error(`emitter: function ${i} declared but never defined`);
      return f;
    });
    const funcs: number[] = [];
    uleb(funcs, defs.length);
    for (const f of defs) uleb(funcs, f.typeIndex);
    section(out, 3, funcs);

    const exports: number[] = [];
    const exported = defs.map((f, i) => [f, i] as const).filter(([f]) => f.exported);
    uleb(exports, exported.length);
    for (const [f, i] of exported) {
      utf8(exports, f.name);
      exports.push(0x00);
      uleb(exports, i);
    }
    section(out, 7, exports);

    const code: number[] = [];
    uleb(code, defs.length);
    for (const f of defs) {
      const entry = f.code.encode();
      for (const b of entry) code.push(b);
    }
    section(out, 10, code);
    return new Uint8Array(out);
  }

  /** Compiles and instantiates against `memory`; returns the exports. */
  instantiate<T>(memory: WebAssembly.Memory): T {
    const module = new WebAssembly.Module(this.encode());
    return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as T;
  }
}
