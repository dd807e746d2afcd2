/**
 * Texture-name recycling for headless-gl.
 *
 * Measured here (headless-gl 8.1.6 = ANGLE on Mesa 22.3 llvmpipe): `deleteTexture` never returns a
 * texture's storage — creating, drawing into and deleting one 1024² float texture 200 times grew
 * the process by 3 GB — while re-specifying an existing texture name with `texImage2D` (any size)
 * keeps memory flat. GPU.js always calls `texImage2D` right after `createTexture`, so handing it
 * a recycled name is safe: deleted names go to a free list and `createTexture` takes from it.
 * The pool holds at most the peak number of textures alive at once, like a caching allocator.
 */

interface TextureContext {
  createTexture(): unknown;
  deleteTexture(texture: unknown): void;
}

const installed = new WeakMap<object, () => void>();

/**
 * Makes `gl` recycle deleted texture names; idempotent. Returns a function that restores the
 * context's own methods and really deletes the pooled names.
 */
export const recycleTextureNames = (gl: TextureContext): (() => void) => {
  const existing = installed.get(gl);
  if (existing) return existing;
  const [ownCreate, ownDelete] = [gl.createTexture, gl.deleteTexture];
  const create = ownCreate.bind(gl);
  const remove = ownDelete.bind(gl);
  const free: unknown[] = [];
  const inPool = new Set<unknown>();
  gl.createTexture = () => {
    const t = free.pop();
    if (t === undefined) return create();
    inPool.delete(t);
    return t;
  };
  gl.deleteTexture = (t: unknown) => {
    if (t === null || t === undefined || inPool.has(t)) return;
    inPool.add(t);
    free.push(t);
  };
  const release = () => {
    gl.createTexture = ownCreate;
    gl.deleteTexture = ownDelete;
    free.splice(0).forEach(remove);
    inPool.clear();
    installed.delete(gl);
  };
  installed.set(gl, release);
  return release;
};
