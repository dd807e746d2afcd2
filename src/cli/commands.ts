/**
 * The scripts' flag tables (scripts/train.ts's is src/cli/train.ts, beside the config it fills).
 * One meaning per flag across commands: `--n` is a number of images, `--steps` a number of
 * sampling steps, `--sampler` the sampler, `--seed` the PRNG seed, `--out` what is written; a
 * number of optimizer steps is `--train-steps`.
 */
import { namedNetworks } from '../train/network.ts';
import { samplerNames } from '../train/generate.ts';
import { command, type Flag } from './flags.ts';

/** What the engine uses when a script sets no backend (src/tensor/engine.ts). */
const engineDefault = 'fast, or the DIFFUSION_BACKEND environment variable when set';

const backendNames = 'fast | plain | plain64 | gpujs-cpu | gpujs-webasm | gpujs-headlessgl | gpujs-gpu';

const backend = <const D extends string>(shownDefault: D) =>
  ({ name: 'backend', type: 'string', value: 'NAME', description: `engine backend: ${backendNames}`, shownDefault }) as const satisfies Flag;

const checkpoint = <const D extends string>(description: D) =>
  ({ name: 'checkpoint', type: 'string', value: 'DIR|FILE', description }) as const satisfies Flag;

const steps = <const D extends string>(shownDefault: D) =>
  ({ name: 'steps', type: 'integer', min: 1, value: 'N', description: 'sampling steps, at most T (fewer are evenly respaced)', shownDefault }) as const satisfies Flag;

/** The sampling flags that sample.ts, eval.ts and eval-cond.ts share, with the same meaning. */
const sampling = {
  network: { name: 'network', type: 'string', value: 'NAME', description: `for a bare .safetensors file without config.json: ${Object.keys(namedNetworks).join(' | ')}` },
  sampler: { name: 'sampler', type: 'string', value: 'NAME', choices: samplerNames, default: 'ddpm', description: 'ddpm (ancestral) | ddim | dpmpp2m (DPM-Solver++ 2M)' },
  eta: { name: 'eta', type: 'number', value: 'X', shownDefault: '0', description: 'DDIM\'s η (0: deterministic; 1: ancestral-like); goes with --sampler ddim' },
  scale: { name: 'scale', type: 'integer', min: 1, value: 'N', default: 1, description: 'PNG pictures: each pixel drawn as an N×N block (nearest neighbour)' },
  guidance: { name: 'guidance', type: 'number', value: 'W', default: 3, description: 'class-conditional models: classifier-free guidance scale, uncond + W·(cond − uncond); 1 = none' },
  autoguidance: {
    name: 'autoguidance', type: 'number', value: 'W', shownDefault: 'the model\'s, when it has a guide',
    description: 'autoguidance with the model\'s guide.safetensors (a weaker model), guide + W·(model − guide); 1 = none',
  },
  autoguidanceInterval: {
    name: 'autoguidance-interval', type: 'string', value: 'LO,HI', shownDefault: 'the model\'s, when it has a guide',
    description: 'autoguidance acts only at diffusion times t/T in [LO, HI), 0 clean and 1 pure noise (0,1: every step)',
  },
  seed: { name: 'seed', type: 'integer', min: 0, value: 'N', default: 0, description: 'PRNG seed' },
  noClip: { name: 'no-clip', type: 'boolean', description: 'do not clip the predicted x_0 to [-1, 1] at each step' },
  noEma: { name: 'no-ema', type: 'boolean', description: 'use the raw weights even when EMA weights exist' },
} as const satisfies Record<string, Flag>;

/** The flags of the scripts that read a classifier and MNIST to score images. */
const scoring = {
  images: { name: 'images', type: 'string', value: 'FILE', description: 'score these images instead of sampling: a grid PNG (28-px cells, 2-px padding, as sample.ts and train.ts write them) or a float32 NPY [N, 1, 28, 28] in [-1, 1]' },
  labels: { name: 'labels', type: 'string', value: 'rows|LIST', description: 'with --images of class-conditional samples: "rows" (a grid with a row per class, in class order) or one class per image, comma-separated' },
  classifier: { name: 'classifier', type: 'string', value: 'FILE', description: 'classifier weights', shownDefault: 'assets/<dataset>-classifier.safetensors' },
} as const satisfies Record<string, Flag>;

export const sampleCommand = command({
  name: 'sample',
  usage: ['npx tsx scripts/sample.ts [--checkpoint DIR|FILE] [flags]'],
  about: 'Draws images from a trained model. A checkpoint is a run folder, a checkpoint folder, or a bare .safetensors file (PyTorch names; with a config.json beside it, or --network NAME, in which case the reference preset\'s diffusion settings apply: linear β, T = 1000, ε-prediction).',
  flags: [
    { ...checkpoint('a run folder, checkpoint folder, or .safetensors weights file'), shownDefault: 'the shipped model: assets/ddpm-mnist, or with --class assets/ddpm-mnist-cond' },
    sampling.network,
    { name: 'n', type: 'integer', min: 1, value: 'N', default: 64, description: 'number of images (--class all: 8 per class)' },
    sampling.seed,
    sampling.sampler,
    sampling.eta,
    { name: 'class', type: 'string', value: 'C', description: 'class-conditional models: a class (7), a list (3,5,8), or all (a row of 8 per class)' },
    sampling.guidance,
    sampling.autoguidance,
    sampling.autoguidanceInterval,
    steps('all T'),
    { name: 'noise', type: 'string', value: 'FILE.npy', description: 'start from this x_T, float32 [N, C, H, W] (it sets the number of images)' },
    { name: 'out', type: 'string', value: 'FILE.png|FILE.npy', default: 'samples.png', description: 'a grid PNG (8 per row, 2-px padding) or a float32 NPY [N, C, H, W] in [-1, 1]' },
    sampling.scale,
    { name: 'trajectory', type: 'string', value: 'FILE.png', description: 'also write 5 samples × 5 stages of the reverse process (x_T … x_0)' },
    { name: 'clip', type: 'boolean', description: 'clip the predicted x_0 to [-1, 1] at each step (on unless --no-clip)' },
    sampling.noClip,
    sampling.noEma,
    backend(engineDefault),
  ],
});

export const evalCommand = command({
  name: 'eval',
  usage: ['npx tsx scripts/eval.ts --checkpoint DIR|FILE [flags]', 'npx tsx scripts/eval.ts --images FILE.npy|FILE.png [flags]'],
  about: 'Prints JSON: fd (MNIST-FD against the test set), floor (the same for n real training images), confident (share with p ≥ 0.9), coverage (normalised entropy of the predicted classes) and, for class-conditional models, accuracy (share drawn as the class asked for) with a row per class.',
  flags: [
    checkpoint('a run folder, checkpoint folder or .safetensors file: sample, then score'),
    sampling.network,
    { name: 'n', type: 'integer', min: 1, value: 'N', default: 1000, description: 'images to sample (class-conditional: rounded down to a multiple of the classes)' },
    { ...sampling.sampler, description: 'ddpm | ddim | dpmpp2m (ancestral DDPM scored best on the small models here, see docs/QUALITY.md)' },
    steps('100, or T when smaller'),
    sampling.eta,
    sampling.guidance,
    sampling.autoguidance,
    sampling.autoguidanceInterval,
    { ...sampling.seed, description: 'PRNG seed of the samples and of the floor\'s real images' },
    { name: 'batch', type: 'integer', min: 1, value: 'N', default: 250, description: 'images per sampling batch' },
    sampling.noClip,
    sampling.noEma,
    { name: 'out', type: 'string', value: 'FILE.png|FILE.npy', description: 'also write the samples' },
    sampling.scale,
    scoring.images,
    scoring.labels,
    { name: 'dataset', type: 'string', value: 'NAME', choices: ['mnist', 'fashion-mnist'], shownDefault: 'the checkpoint\'s, or mnist for --images', description: 'mnist | fashion-mnist' },
    { name: 'data-dir', type: 'string', value: 'DIR', description: 'folder with the dataset\'s IDX files' },
    scoring.classifier,
    backend('fast'),
  ],
});

export const evalCondCommand = command({
  name: 'eval-cond',
  usage: ['npx tsx scripts/eval-cond.ts --checkpoint DIR|FILE [flags]', 'npx tsx scripts/eval-cond.ts --images FILE.png|FILE.npy --labels rows|LIST [flags]'],
  about: 'How often does a class-conditional model draw the class it is asked for? Samples a row per class, lets the shipped classifier read them and prints a table per class, with the evaluator\'s figures (as scripts/eval.ts prints them): MNIST-FD against the test set, its floor, the confident share and the coverage.',
  flags: [
    checkpoint('a class-conditional run folder, checkpoint folder or .safetensors file'),
    sampling.network,
    { name: 'per-class', type: 'integer', min: 1, value: 'N', default: 10, description: 'images per class' },
    sampling.guidance,
    sampling.sampler,
    steps('all T'),
    sampling.eta,
    sampling.seed,
    sampling.noClip,
    sampling.noEma,
    { name: 'out', type: 'string', value: 'FILE.png|FILE.npy', description: 'also write the samples (a row per class)' },
    sampling.scale,
    scoring.images,
    { ...scoring.labels, description: 'with --images: "rows" (N/classes images per class, in class order: a grid with a row per class) or one class per image, comma-separated' },
    { ...scoring.classifier, shownDefault: 'the shipped one for the model\'s dataset' },
    { name: 'dataset', type: 'string', value: 'NAME', choices: ['mnist', 'fashion-mnist'], default: 'mnist', description: 'with --images: the data the FD compares with' },
    { name: 'json', type: 'boolean', description: 'print the results as JSON on stdout instead of the table' },
    backend('fast'),
  ],
});

export const forwardCommand = command({
  name: 'forward',
  usage: ['npx tsx scripts/forward.ts [flags]'],
  about: 'The forward-process figure of the walk-through: one MNIST digit, then x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε at four later timesteps, side by side.',
  flags: [
    { name: 'index', type: 'integer', min: 0, value: 'N', default: 0, description: 'which training image' },
    { ...sampling.seed, description: 'PRNG seed of the noise' },
    { name: 'timesteps', type: 'integer', min: 4, value: 'T', default: 200, description: 'diffusion steps; the columns are t = T/4, T/2, 3T/4 and T' },
    { name: 'schedule', type: 'string', value: 'KIND', choices: ['linear', 'cosine', 'sigmoid'], default: 'linear', description: 'linear | cosine | sigmoid' },
    { name: 'image-size', type: 'integer', min: 1, value: 'S', default: 32, description: 'the digit resized to S×S' },
    { name: 'out', type: 'string', value: 'FILE.png', default: 'forward.png', description: 'the picture' },
  ],
});

export const exportModelCommand = command({
  name: 'export-model',
  usage: ['npx tsx scripts/export-model.ts --checkpoint DIR --out DIR [flags]'],
  about: 'Turns a training run into a model folder to ship or share: model.safetensors (PyTorch names), config.json and MODEL_CARD.md.',
  flags: [
    { name: 'checkpoint', type: 'string', value: 'DIR', required: true, description: 'a run folder or checkpoint folder' },
    { name: 'out', type: 'string', value: 'DIR', required: true, description: 'the model folder to write (model.safetensors, config.json, MODEL_CARD.md)' },
    { name: 'dtype', type: 'string', value: 'f16|f32', choices: ['f16', 'f32'], default: 'f16', description: 'weight precision in the file' },
    { name: 'no-ema', type: 'boolean', description: 'export the raw weights even when EMA weights exist' },
    { name: 'guide', type: 'string', value: 'DIR', description: 'a weaker model of the same data (run, checkpoint or model folder) to ship as guide.safetensors, for autoguidance' },
    { name: 'guide-scale', type: 'number', value: 'W', description: 'the autoguidance scale the model recommends with its guide (required with --guide; default: the scale of the guide the run froze)' },
    { name: 'guide-interval', type: 'string', value: 'LO,HI', description: 'the diffusion times t/T in [LO, HI) at which the guide acts, 0 clean and 1 pure noise (default: the run\'s own, or every step)' },
    { name: 'eval', type: 'string', value: 'FILE', description: 'the JSON scripts/eval.ts printed for this checkpoint, for the model card' },
    { name: 'title', type: 'string', value: 'TEXT', description: 'the model card\'s title', shownDefault: 'DDPM on <dataset>' },
    { name: 'command', type: 'string', value: 'TEXT', description: 'the training command, for the model card' },
  ],
});

export const trainClassifierCommand = command({
  name: 'train-classifier',
  usage: ['npx tsx scripts/train-classifier.ts [flags]'],
  about: 'Trains the small CNN that scores samples (Adam with a cosine-decayed step size, each batch shifted by up to ±N px); prints the test accuracy and writes the weights with a JSON beside them.',
  flags: [
    { name: 'dataset', type: 'string', value: 'NAME', choices: ['mnist', 'fashion-mnist'], default: 'mnist', description: 'mnist | fashion-mnist' },
    { name: 'data-dir', type: 'string', value: 'DIR', description: 'a folder with the four IDX files', shownDefault: 'the dataset\'s usual place' },
    { name: 'epochs', type: 'integer', min: 1, value: 'N', default: 3, description: 'passes over the training split' },
    { name: 'train-steps', type: 'integer', min: 1, value: 'N', description: 'stop after N optimizer steps (batches) instead, for a quick run' },
    { name: 'batch', type: 'integer', min: 1, value: 'N', default: 64, description: 'batch size' },
    { name: 'lr', type: 'number', value: 'X', default: 0.002, description: 'Adam\'s initial step size, cosine-decayed to a twentieth of it' },
    { name: 'shift', type: 'integer', min: 0, value: 'N', default: 2, description: 'random shifts of up to ±N pixels (0: none)' },
    { ...sampling.seed, description: 'PRNG seed for init, shuffling and shifts' },
    { name: 'out', type: 'string', value: 'FILE', shownDefault: 'runs/<dataset>-classifier.safetensors', description: 'weights file; FILE.json is written beside it (the shipped one is assets/<dataset>-classifier.safetensors: replace it only on purpose)' },
    backend('fast'),
  ],
});

export const checkRunCommand = command({
  name: 'check-run',
  usage: ['npx tsx scripts/check-run.ts RUN_DIR'],
  about: 'Checks a finished training run: fails (exit 1) unless the mean of its last tenth of logged losses is below half the mean of its first tenth. Prints both means.',
  positionals: { name: 'RUN_DIR', min: 1, max: 1, description: 'a scripts/train.ts output folder (with metrics.jsonl)' },
  flags: [],
});

export const benchCommand = command({
  name: 'bench',
  usage: ['npx tsx scripts/bench.ts [--suite ops|train|sample] [flags]'],
  about: 'Times the engine on every backend that works here (and tfjs-backend-wasm as the ops baseline), prints one JSON object, stores the figures in docs/benchmarks.json and regenerates docs/BENCHMARKS.md. Without a display it re-runs itself under xvfb-run -a when that exists.',
  flags: [
    { name: 'suite', type: 'string', value: 'NAME', choices: ['ops', 'train', 'sample'], default: 'ops', description: 'ops | train | sample' },
    { name: 'backends', type: 'string', value: 'LIST', shownDefault: 'all of them for ops, fast for train and sample', description: 'comma-separated: fast,fast-1t,plain,gpujs-cpu,gpujs-webasm,gpujs-headlessgl,tfjs-wasm-1t,tfjs-wasm (tfjs-wasm* are ops only)' },
    { name: 'rounds', type: 'integer', min: 1, value: 'N', default: 1, description: 'ops and train: measure the list N times round-robin and keep each figure\'s median' },
    { name: 'networks', type: 'string', value: 'LIST', shownDefault: 'mnist32:64,seed:64 for train, mnist32:64 for sample', description: 'network:batch pairs for train and sample; a network without :batch takes --n' },
    { name: 'n', type: 'integer', min: 1, value: 'N', default: 64, description: 'images per batch of a --networks entry without :batch' },
    { name: 'samplers', type: 'string', value: 'LIST', default: samplerNames.join(','), description: 'sample: the samplers timed' },
    { name: 'steps', type: 'string', value: 'LIST', default: '10,25,50,1000', description: 'sample: the numbers of sampling steps timed' },
    { name: 'min-seconds', type: 'number', value: 'S', default: 1, description: 'ops: the least time measured per case' },
    { name: 'json', type: 'boolean', description: 'JSON only on stdout' },
    { name: 'render', type: 'boolean', description: 'only rewrite docs/BENCHMARKS.md from docs/benchmarks.json' },
  ],
});

export const benchQualityCommand = command({
  name: 'bench:quality',
  usage: ['npx tsx scripts/bench-quality.ts [flags]   (npm run bench:quality)'],
  about: 'Quality per minute of training: trains each recipe for fixed wall-clock budgets (a budget becomes a --train-steps count from the measured step time), scores each run with scripts/eval.ts and writes docs/quality.json, docs/QUALITY.md and docs/quality.svg. A finished run folder is scored again instead of retrained.',
  flags: [
    { name: 'recipes', type: 'string', value: 'LIST', shownDefault: 'all', description: 'comma-separated recipe names (scripts/bench/quality.ts)' },
    { name: 'budgets', type: 'string', value: 'LIST', default: '5,10,20', description: 'minutes of training, comma-separated' },
    { name: 'n', type: 'integer', min: 2, value: 'N', default: 1000, description: 'samples scored per run' },
    { name: 'out', type: 'string', value: 'DIR', default: 'runs/quality', description: 'the run folders\' parent' },
    { name: 'retrain', type: 'boolean', description: 'train finished runs anew' },
    { name: 'render', type: 'boolean', description: 'only rewrite the docs from docs/quality.json' },
  ],
});

export const benchTfjsCommand = command({
  name: 'bench/tfjs',
  usage: ['npx tsx scripts/bench/tfjs.ts [flags]   (run by scripts/bench.ts)'],
  about: 'The op benchmarks\' tfjs-backend-wasm baseline in a process of its own; one JSON array of rows on stdout.',
  flags: [
    { name: 'threads', type: 'integer', min: 1, value: 'N', default: 1, description: 'XNNPACK threads' },
    { name: 'min-seconds', type: 'number', value: 'S', default: 1, description: 'the least time measured per case' },
    { name: 'threaded', type: 'boolean', description: 'the threaded build even for one thread (to tell the build\'s cost from the threads\' gain)' },
  ],
});
