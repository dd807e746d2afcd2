"""diffusion-ts checkpoints <-> PyTorch modules.

    from load import load_model, save_weights
    model, config = load_model("assets/ddpm-mnist-cond/model.safetensors")  # config.json beside it
    save_weights(model, "out/model.safetensors")                              # the library reads it back

`config` is the checkpoint's config.json: a training config (with "network", "schedule",
"objective", "imageSize", ...) or just its "network" part ({"kind": "unet" | "simple", ...}).
Command line: `python3 load.py MODEL.safetensors [CONFIG.json]` loads strictly and prints a summary.
"""
import json
import os
import sys

import torch

from safetensors_io import load_file, save_file
from simple_unet import SEED, SimpleUnet
from unet import MNIST32, Unet

# the library's namedNetworks (src/train/network.ts)
NAMED_NETWORKS = {
    "mnist32": {"kind": "unet", "unet": MNIST32},
    "mnist64": {"kind": "unet", "unet": {**MNIST32, "baseChannels": 64, "timeDim": 256}},
    "small": {"kind": "unet", "unet": {**MNIST32, "baseChannels": 24, "channelMults": [1, 2, 2], "blocksPerLevel": 1,
                                        "sinusoidalDim": 32, "timeDim": 96}},
    "tiny": {"kind": "unet", "unet": {**MNIST32, "baseChannels": 16, "channelMults": [1, 2], "blocksPerLevel": 1,
                                       "sinusoidalDim": 32, "timeDim": 32}},
    "seed": {"kind": "simple", "simple": SEED},
    "seedTiny": {"kind": "simple", "simple": {**SEED, "downChannels": [8, 16, 32, 64, 128]}},
}


def network_config(config):
    """The {"kind", ...} network part of a training config (or the network config itself)."""
    net = config.get("network", config)
    if isinstance(net, str):
        return NAMED_NETWORKS[net]
    if net.get("kind") not in ("unet", "simple"):
        raise ValueError(f'expected a network config with kind "unet" or "simple", got {net!r}')
    return net


def build_model(config):
    """A fresh module of the network a config describes."""
    net = network_config(config)
    return Unet(**net["unet"]) if net["kind"] == "unet" else SimpleUnet(**net["simple"])


def read_config(weights_path, config_path=None):
    path = config_path or os.path.join(os.path.dirname(os.path.abspath(weights_path)), "config.json")
    with open(path) as f:
        return json.load(f)


def load_weights(model, path):
    """Loads a .safetensors state dict (float32, float16 or bfloat16) with strict=True: every name
    and shape must match. Floats are converted to the module's dtype."""
    tensors, _ = load_file(path)
    own = model.state_dict()
    converted = {name: t.to(own[name].dtype) if name in own and t.is_floating_point() else t
                 for name, t in tensors.items()}
    model.load_state_dict(converted, strict=True)
    return model


def load_model(weights_path, config_path=None):
    """(module in eval mode, config dict) from a weights file and its config.json."""
    config = read_config(weights_path, config_path)
    model = load_weights(build_model(config), weights_path)
    return model.eval(), config


def save_weights(model, path, dtype=torch.float32):
    """Writes the module's state dict with the library's names: floats as `dtype` (float32 or
    float16), batch-norm counters as int64 scalars."""
    tensors = {name: t.to(dtype) if t.is_floating_point() else t for name, t in model.state_dict().items()}
    save_file(tensors, path, metadata={"format": "pt"})


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python3 load.py MODEL.safetensors [CONFIG.json]")
    model, config = load_model(*sys.argv[1:])
    params = sum(p.numel() for p in model.parameters())
    print(f"{type(model).__name__}: {len(model.state_dict())} tensors, {params:,} parameters, loaded strictly")
