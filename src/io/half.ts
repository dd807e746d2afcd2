/**
 * IEEE half precision (F16) and bfloat16 (BF16) <-> float32, bit-exact with round to
 * nearest even. Safetensors files from PyTorch often hold these; we widen them to
 * Float32Array on decode (both are exactly representable in float32).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export const f16BitsToNumber = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
};

/** Rounds `x` (first to float32, as the value is stored in a Float32Array) to the nearest half. */
export const numberToF16Bits = (x: number): number => {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent32 = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent32 === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const exponent = exponent32 - 127 + 15;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    // Subnormal half: shift the full significand (implicit 1 included) right, rounding.
    if (exponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - exponent;
    const half = 2 ** (shift - 1);
    let rounded = Math.floor(significand / 2 ** shift);
    const remainder = significand - rounded * 2 ** shift;
    if (remainder > half || (remainder === half && (rounded & 1) === 1)) rounded++;
    return sign | rounded;
  }
  let rounded = (exponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to 0x7c00 = infinity: still correct.
  if (remainder > 0x1000 || (remainder === 0x1000 && (rounded & 1) === 1)) rounded++;
  return sign | rounded;
};

export const bf16BitsToNumber = (b: number): number => {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
};

export const numberToBf16Bits = (x: number): number => {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
};

export const f16ToFloat32 = (halves: Uint16Array): Float32Array => Float32Array.from(halves, f16BitsToNumber);
export const float32ToF16 = (xs: Float32Array): Uint16Array => Uint16Array.from(xs, numberToF16Bits);
export const bf16ToFloat32 = (halves: Uint16Array): Float32Array => Float32Array.from(halves, bf16BitsToNumber);
export const float32ToBf16 = (xs: Float32Array): Uint16Array => Uint16Array.from(xs, numberToBf16Bits);
