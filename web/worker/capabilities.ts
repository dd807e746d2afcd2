/**
 * What the browser offers each backend, checked where the engine runs (the dedicated worker):
 * WebAssembly SIMD and shared memory for the fast backend, WebGL2 with float render targets for
 * GPU.js. Each limit is one sentence the page shows as it is.
 */
import type { Capabilities, PageBackend } from '../protocol.ts';

/** The smallest module that uses SIMD: one function returning `v128.const 0`. */
const simdProbe = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
  0x03, 0x02, 0x01, 0x00, // functions: one of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b, // code: v128.const, end
]);

const wasmSimd = (): boolean => {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(simdProbe);
  } catch {
    return false;
  }
};

interface Gl {
  readonly ok: boolean;
  readonly renderer: string | null;
  readonly reason: string | null;
}

/** WebGL2 on an OffscreenCanvas, as GPU.js opens it in a worker, with the float render targets it needs. */
const webgl2 = (): Gl => {
  const Canvas = (globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown } }).OffscreenCanvas;
  if (Canvas === undefined) return { ok: false, renderer: null, reason: 'this browser has no OffscreenCanvas, so a worker cannot open WebGL' };
  const gl = new Canvas(1, 1).getContext('webgl2') as WebGL2RenderingContext | null;
  if (gl === null) return { ok: false, renderer: null, reason: 'this browser gives no WebGL2 context (disabled, blocklisted GPU, or no GPU driver)' };
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : null;
  const floats = gl.getExtension('EXT_color_buffer_float') !== null;
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return floats ? { ok: true, renderer, reason: null }
    : { ok: false, renderer, reason: 'WebGL2 here cannot render to float textures (no EXT_color_buffer_float), which GPU.js needs' };
};

/** The browser's offer, with one sentence per backend that cannot run or runs limited. */
export const capabilities = (): Capabilities => {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const shared = typeof SharedArrayBuffer !== 'undefined';
  const simd = wasmSimd();
  const gl = webgl2();
  const threads = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  const fast = !simd ? 'this browser cannot compile WebAssembly SIMD, which every fast kernel uses: the fast backend is off'
    : !isolated || !shared ? 'the page is not cross-origin isolated (it needs the headers COOP: same-origin and COEP: require-corp), so SharedArrayBuffer is missing: the fast backend runs single-threaded'
    : null;
  const limits: Record<PageBackend, string | null> = { fast, 'gpujs-gpu': gl.reason };
  return { crossOriginIsolated: isolated, sharedArrayBuffer: shared, wasmSimd: simd, webgl2: gl.ok, renderer: gl.renderer, threads, limits };
};

/** Whether a backend can run at all (the fast one also runs, slower, without shared memory). */
export const usable = (caps: Capabilities, name: PageBackend): boolean =>
  name === 'fast' ? caps.wasmSimd : caps.webgl2;
