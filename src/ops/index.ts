export * from './create.ts';
export * from './elementwise.ts';
export * from './reduce.ts';
export * from './shape.ts';
export * from './matmul.ts';
export * from './conv.ts';
export * from './nn.ts';
export * from './random.ts';
