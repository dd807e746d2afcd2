import { createGpuJsBackend } from './src/tensor/gpujs/index.ts';
const b = createGpuJsBackend('headlessgl');
const x = b.write(new Float32Array(1 << 20).fill(1));
const rss = () => (process.memoryUsage().rss / 1e6) | 0;
const mode = process.argv[2];
for (let round = 0; round < 4; round++) {
  const keep: any[] = [];
  for (let i = 0; i < 50; i++) keep.push(b.binary('add', x, x, [1 << 20], [1], [1]));
  const ctx = keep[0].context;
  keep.forEach((h) => b.dispose(h));
  if (mode === 'finish') ctx.finish();
  if (mode === 'read') b.read(x, 1);
  console.log('round', round, 'rss MB', rss());
}
b.destroy();
