/**
 * Relaxed SIMD (f32x4.relaxed_madd: one fused multiply-add where the CPU has FMA) is on by default
 * from V8 11.4; Node 20's V8 11.3 has it behind --experimental-wasm-relaxed-simd, a flag that may be
 * set at run time before the modules that use it are compiled. Detection validates a one-instruction
 * module; if that fails, under Node, the flag is tried once (when the fast backend is created, never
 * at import). Browsers have it on by default. Where neither works, gemm keeps mul + add.
 */
import { nodeBuiltin } from '../platform.ts';
import { ModuleBuilder, v128 } from './emitter.ts';

const probe = (): boolean => {
  const m = new ModuleBuilder({ initialPages: 1, maximumPages: 1, shared: false });
  m.func('madd', [v128, v128, v128], [v128], (c) => {
    c.get(0).get(1).get(2).simd('f32x4_relaxed_madd');
  });
  return WebAssembly.validate(m.encode());
};

let detected: boolean | undefined;

/** Whether WebAssembly relaxed SIMD compiles here (enabling V8's flag when this Node needs it). */
export const relaxedSimd = (): boolean => {
  if (detected !== undefined) return detected;
  detected = probe();
  if (!detected) {
    const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
    if (!v8) return detected;
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      detected = probe();
    } catch {
      detected = false;
    }
  }
  return detected;
};
