// Entry point for worker threads that run TypeScript modules: registers tsx's loader in the
// worker (workers do not inherit it), then imports the module named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
