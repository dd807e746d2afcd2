/**
 * Self-contained weights files: a network's state dict with PyTorch names and, in the safetensors
 * metadata, the training config it was trained with (so that nothing beside it is needed) and, for
 * an autoguidance guide (`guide.safetensors`), the scale it is recommended at. PyTorch's loaders
 * ignore the metadata, so such a file still loads with `load_state_dict`.
 */
import { encodeSafetensors, type Tensors } from '../io/safetensors.ts';
import { entriesToSafetensors } from '../weights/safetensors.ts';
import type { Network, Weights } from './network.ts';
import type { TrainConfig } from './config.ts';

/** The metadata key under which a self-contained weights file carries its training config as JSON. */
export const CONFIG_METADATA_KEY = 'config';

/** The metadata key under which a guide's weights file carries its recommended autoguidance scale. */
export const GUIDE_SCALE_METADATA_KEY = 'guide_scale';

/** The file a model, checkpoint or run keeps its autoguidance guide in. */
export const GUIDE_FILE = 'guide.safetensors';

/** Float32 entries stored as float16 (`f16`) or left as they are. */
export const inDtype = (entries: Tensors, dtype: 'f16' | 'f32'): Tensors =>
  Object.fromEntries(Object.entries(entries).map(([name, e]) => [name, e.dtype === 'F32' && dtype === 'f16' ? { ...e, dtype: 'F16' } : e]));

/**
 * A guide's weights file: its state dict, its training config and the scale it is recommended at.
 * The guide must be a model of the same data under the same diffusion as the model it guides
 * (`attachGuide` in src/pipeline checks).
 */
export const guideSafetensors = (net: Network, weights: Weights, config: TrainConfig, scale: number, dtype: 'f16' | 'f32' = 'f32'): Uint8Array =>
  encodeSafetensors(inDtype(entriesToSafetensors(net.stateDict(weights)), dtype), {
    format: 'pt', [CONFIG_METADATA_KEY]: JSON.stringify(config), [GUIDE_SCALE_METADATA_KEY]: String(scale),
  });
