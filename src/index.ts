/**
 * The public API: tensors, backends, ops, autodiff, optimizers, and sampling pipelines from a
 * model's bytes. Subpaths: `diffusion-ts/ddpm` (schedules, samplers, schedulers), `/layers`
 * (networks as pure functions), `/io` (codecs), `/node` (models and data from disk).
 */
export type { Backend, Im2colSpec, MatmulSpec } from './tensor/backend.ts';
export { ShapeError, type Shape } from './tensor/shape.ts';
export { type Tensor, dispose, disposeTree, item, keep, tidy, toArray, toFloat32, treeTensors } from './tensor/tensor.ts';
export { backendByName, backendNames, getBackend, loadBackend, setBackend, withBackend, type BackendName } from './tensor/engine.ts';
export * as random from './tensor/random.ts';
export * from './ops/index.ts';
export { backward, grad, valueAndGrad, valueAndGradWithAux } from './grad/value-and-grad.ts';
export { flattenTree, mapTree, zipTrees } from './grad/tree.ts';
export { adam, sgd, type AdamConfig, type AdamState, type Optimizer, type SgdConfig, type SgdState } from './grad/optim.ts';
export { namedNetworks, network, networkChannels, type ApplyOptions, type Network, type NetworkConfig, type Weights } from './train/network.ts';
export { drawImages, samplerNames, type DrawOptions, type SamplerName } from './train/generate.ts';
export * from './pipeline/index.ts';
