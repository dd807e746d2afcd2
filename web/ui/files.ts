/**
 * Models from files the user picks or drops: a checkpoint folder's files (model.safetensors and/or
 * ema.safetensors with config.json), an exported model folder's, or one .safetensors that carries
 * its config in its metadata. The EMA weights win over the raw ones, as the Node loader does.
 */

export interface PickedModel {
  readonly safetensors: Uint8Array;
  readonly config?: string;
  /** guide.safetensors (or X.guide.safetensors, as the page downloads it) beside the weights: a weaker model for autoguidance */
  readonly guide?: Uint8Array;
  /** what the page calls it: the file names */
  readonly what: string;
}

const bytesOf = async (f: File): Promise<Uint8Array> => new Uint8Array(await f.arrayBuffer());

/** The model in a set of files, or an Error saying what is missing. */
export const modelFromFiles = async (files: readonly File[]): Promise<PickedModel> => {
  // guide.safetensors, or X.guide.safetensors as the page downloads it (guideFileFor's names)
  const guide = files.find((f) => f.name === 'guide.safetensors' || f.name.toLowerCase().endsWith('.guide.safetensors'));
  const weights = files.filter((f) => f.name.toLowerCase().endsWith('.safetensors') && f !== guide);
  const configs = files.filter((f) => f.name.toLowerCase().endsWith('.json') && f.name !== 'state.json' && f.name !== 'latest.json');
  if (weights.length === 0) throw new Error(`no .safetensors among ${files.map((f) => f.name).join(', ') || 'the files'}: pick a model.safetensors or ema.safetensors (with its config.json), or a file the page downloaded`);
  const chosen = weights.find((f) => f.name === 'ema.safetensors') ?? weights.find((f) => f.name === 'model.safetensors') ?? weights[0];
  if (weights.length > 1 && !['ema.safetensors', 'model.safetensors'].includes(chosen.name)) {
    throw new Error(`${weights.length} weights files (${weights.map((f) => f.name).join(', ')}): pick one, with its config.json`);
  }
  const config = configs.find((f) => f.name === 'config.json') ?? configs[0];
  const what = [chosen.name, ...(config ? [config.name] : []), ...(guide ? [guide.name] : [])].join(' + ');
  return { safetensors: await bytesOf(chosen), ...(config ? { config: await config.text() } : {}), ...(guide ? { guide: await bytesOf(guide) } : {}), what };
};

/** A shipped model from the page's own server (build:web copies them into models/). */
export const shippedModel = async (folder: string): Promise<PickedModel> => {
  const get = async (name: string): Promise<Response> => {
    const res = await fetch(`models/${folder}/${name}`);
    if (!res.ok) throw new Error(`models/${folder}/${name}: ${res.status} ${res.statusText}`);
    return res;
  };
  const [w, c] = await Promise.all([get('model.safetensors'), get('config.json')]);
  // a guide for autoguidance, when the model ships one (build:web copies it beside the weights)
  const g = await fetch(`models/${folder}/guide.safetensors`);
  const guide = g.ok ? { guide: new Uint8Array(await g.arrayBuffer()) } : {};
  return { safetensors: new Uint8Array(await w.arrayBuffer()), config: await c.text(), ...guide, what: `${folder} (shipped)` };
};

/** Offers bytes as a file download. */
export const download = (bytes: Uint8Array, fileName: string): void => {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
};
