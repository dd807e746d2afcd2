import { createGpuJsBackend } from './src/tensor/gpujs/index.ts';
const b = createGpuJsBackend('headlessgl');
const x = b.write(new Float32Array(1 << 20).fill(1));
const rss = () => (process.memoryUsage().rss / 1e6) | 0;
for (let round = 0; round < 3; round++) {
  for (let i = 0; i < 200; i++) b.dispose(b.binary('add', x, x, [1 << 20], [1], [1]));
  console.log('disposed round', round, 'rss MB', rss(), 'live', b.liveBuffers());
}
const keep = [];
for (let i = 0; i < 100; i++) keep.push(b.binary('add', x, x, [1 << 20], [1], [1]));
console.log('kept 100: rss MB', rss());
keep.forEach((h) => b.dispose(h));
for (let i = 0; i < 100; i++) b.dispose(b.binary('add', x, x, [1 << 20], [1], [1]));
console.log('after disposing them + 100 more: rss MB', rss());
const keep2 = [];
for (let i = 0; i < 100; i++) keep2.push(b.binary('add', x, x, [1 << 20], [1], [1]));
console.log('kept 100 again: rss MB', rss());
b.destroy();
