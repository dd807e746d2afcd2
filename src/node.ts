/**
 * The Node-only parts (`diffusion-ts/node`): models, checkpoints and classifiers from disk, the
 * shipped models and classifiers in the package's `assets/`, file adapters and MNIST. Everything
 * here touches the file system; the main entry's `pipelineFromFiles` takes a model's bytes instead.
 */
export { loadDiffusionModel, loadPipeline, shippedModels, type LoadOptions, type ShippedModelName } from './pipeline/load.ts';
export type { DiffusionModel, ModelConfig, ModelFiles } from './pipeline/model.ts';
export type { Pipeline, SampleOptions, Samples } from './pipeline/pipeline.ts';
export { loadCheckpoint, resolveCheckpointDir, saveCheckpoint, RunState, type Checkpoint } from './train/checkpoint.ts';
export { ensureWritableDir, readBytes, writeFileAtomic } from './io/files.ts';
export { decodeImage, decodeImageFile, encodePng, readImageBytes, readImageFile, writePng, type ChwBytes, type ChwImage, type ImageReadOptions } from './io/image.ts';
export { readSafetensorsFile, writeSafetensorsFile } from './io/safetensors-file.ts';
export { FASHION_MNIST_DIR, loadFashionMnist, loadIdxPair, loadMnist, mnistDataDir, readIdxFile, type ImageDataset, type Split } from './io/mnist.ts';
export { loadImageFolder, type ImageFolderDataset, type ImageFolderOptions } from './io/image-folder.ts';
export { classify, loadClassifier, saveClassifier, shippedClassifiers, type Classified, type Classifier } from './eval/classify.ts';
