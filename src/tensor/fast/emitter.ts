/**
 * A minimal WebAssembly binary builder: just enough of the format (types, one imported memory,
 * functions, exports, code) to author SIMD kernels in TypeScript and compile them at run time.
 *
 * A function body is written as a stack-machine instruction stream through {@link Code}, one method
 * per instruction, plus a few structured helpers (`block`, `loop`, `ifThen`, `forUp`) that emit the
 * matching `end`. Opcodes are those of the core spec and of the fixed-width SIMD proposal (prefix 0xfd).
 */

export const i32 = 0x7f;
export const i64 = 0x7e;
export const f32 = 0x7d;
export const f64 = 0x7c;
export const v128 = 0x7b;
export type ValType = typeof i32 | typeof i64 | typeof f32 | typeof f64 | typeof v128;

/** Unsigned LEB128 of a non-negative integer below 2³². */
export const uleb = (out: number[], v: number): void => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uleb: ${v} is not a u32`);
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
};

/** Signed LEB128 of an integer in the i32 range (u32 values are wrapped to i32 first). */
export const sleb = (out: number[], v: number): void => {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new RangeError(`sleb: ${v} is not an i32`);
  v |= 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
};

const utf8 = (out: number[], s: string): void => {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
};

const scratch = new DataView(new ArrayBuffer(8));

/** Core opcodes without immediates, by spec name (dots and slashes as underscores). */
export const op = {
  unreachable: 0x00, nop: 0x01, return: 0x0f, drop: 0x1a, select: 0x1b,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a,
  i32_gt_u: 0x4b, i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  f32_eq: 0x5b, f32_ne: 0x5c, f32_lt: 0x5d, f32_gt: 0x5e, f32_le: 0x5f, f32_ge: 0x60,
  f64_eq: 0x61, f64_ne: 0x62, f64_lt: 0x63, f64_gt: 0x64, f64_le: 0x65, f64_ge: 0x66,
  i32_clz: 0x67, i32_ctz: 0x68, i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d,
  i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70, i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73,
  i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76,
  f32_abs: 0x8b, f32_neg: 0x8c, f32_ceil: 0x8d, f32_floor: 0x8e, f32_trunc: 0x8f,
  f32_nearest: 0x90, f32_sqrt: 0x91, f32_add: 0x92, f32_sub: 0x93, f32_mul: 0x94, f32_div: 0x95,
  f32_min: 0x96, f32_max: 0x97,
  f64_abs: 0x99, f64_neg: 0x9a, f64_sqrt: 0x9f, f64_add: 0xa0, f64_sub: 0xa1, f64_mul: 0xa2,
  f64_div: 0xa3, f64_min: 0xa4, f64_max: 0xa5,
  i32_trunc_f32_s: 0xa8, i32_trunc_f64_s: 0xaa, f32_convert_i32_s: 0xb2, f32_demote_f64: 0xb6,
  f64_convert_i32_s: 0xb7, f64_convert_i32_u: 0xb8, f64_promote_f32: 0xbb,
  i32_reinterpret_f32: 0xbc, f32_reinterpret_i32: 0xbe,
} as const;

/** SIMD opcodes without immediates (emitted as 0xfd, uleb(code)). */
export const simd = {
  i8x16_swizzle: 0x0e, i32x4_splat: 0x11, f32x4_splat: 0x13, f64x2_splat: 0x14,
  i32x4_eq: 0x37, i32x4_ne: 0x38, i32x4_lt_s: 0x39, i32x4_gt_s: 0x3b,
  f32x4_eq: 0x41, f32x4_ne: 0x42, f32x4_lt: 0x43, f32x4_gt: 0x44, f32x4_le: 0x45, f32x4_ge: 0x46,
  f64x2_eq: 0x47, f64x2_ne: 0x48, f64x2_lt: 0x49, f64x2_gt: 0x4a, f64x2_le: 0x4b, f64x2_ge: 0x4c,
  v128_not: 0x4d, v128_and: 0x4e, v128_andnot: 0x4f, v128_or: 0x50, v128_xor: 0x51,
  v128_bitselect: 0x52, v128_any_true: 0x53,
  f32x4_demote_f64x2_zero: 0x5e, f64x2_promote_low_f32x4: 0x5f,
  f32x4_ceil: 0x67, f32x4_floor: 0x68, f32x4_trunc: 0x69, f32x4_nearest: 0x6a,
  i32x4_abs: 0xa0, i32x4_neg: 0xa1, i32x4_all_true: 0xa3, i32x4_bitmask: 0xa4,
  i32x4_shl: 0xab, i32x4_shr_s: 0xac, i32x4_shr_u: 0xad, i32x4_add: 0xae, i32x4_sub: 0xb1,
  i32x4_mul: 0xb5, i32x4_min_s: 0xb6, i32x4_max_s: 0xb8,
  f32x4_abs: 0xe0, f32x4_neg: 0xe1, f32x4_sqrt: 0xe3, f32x4_add: 0xe4, f32x4_sub: 0xe5,
  f32x4_mul: 0xe6, f32x4_div: 0xe7, f32x4_min: 0xe8, f32x4_max: 0xe9, f32x4_pmin: 0xea,
  f32x4_pmax: 0xeb,
  f64x2_abs: 0xec, f64x2_neg: 0xed, f64x2_sqrt: 0xef, f64x2_add: 0xf0, f64x2_sub: 0xf1,
  f64x2_mul: 0xf2, f64x2_div: 0xf3, f64x2_min: 0xf4, f64x2_max: 0xf5,
  i32x4_trunc_sat_f32x4_s: 0xf8, f32x4_convert_i32x4_s: 0xfa,
  /** relaxed SIMD: a·b + c, fused or not as the hardware prefers (see relaxed.ts) */
  f32x4_relaxed_madd: 0x105,
} as const;

/** Memory instructions: [prefix or null, opcode, natural alignment as log2 bytes]. */
const mem = {
  i32_load: [null, 0x28, 2], f32_load: [null, 0x2a, 2], f64_load: [null, 0x2b, 3],
  i32_store: [null, 0x36, 2], f32_store: [null, 0x38, 2], f64_store: [null, 0x39, 3],
  v128_load: [0xfd, 0x00, 4], v128_load32_splat: [0xfd, 0x09, 2], v128_load64_splat: [0xfd, 0x0a, 3],
  v128_store: [0xfd, 0x0b, 4], v128_load32_zero: [0xfd, 0x5c, 2], v128_load64_zero: [0xfd, 0x5d, 3],
} as const;
export type MemOp = keyof typeof mem;

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
