r"""Train a diffusion-ts network with PyTorch DDP; the result samples in the library.

    torchrun --standalone --nproc_per_node=8 interop/pytorch/train_ddp.py \
        --data-dir ~/mnist --config assets/ddpm-mnist-cond/config.json --train-steps 20000 --batch 512 --out runs/pt-cond
    npx tsx scripts/sample.ts --checkpoint runs/pt-cond/model.safetensors --class all --out cond.png

The recipe is the library's (src/train): images in [-1, 1], t ~ U{0..T-1}, an eps/x0/v target with
optional min-SNR-g weights, Adam with linear warm-up and optional cosine decay to lr/20, EMA with
decay min(ema, (1 + step)/(10 + step)), the null label (numClasses) with probability condDrop.
`--batch` is the global batch, split over the processes. `--smoke`: 2 steps of a tiny net on CPU
(gloo, works without torchrun). See README.md beside this file.
"""
import argparse
import contextlib
import copy
import gzip
import json
import math
import os
import socket
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from load import NAMED_NETWORKS, build_model, save_weights
from schedule import Schedule

DEFAULTS = dict(  # the library's `reference` preset, for runs without --config
    preset="pytorch-ddp", network=NAMED_NETWORKS["mnist32"], dataset="mnist", dataDir=None, imageFolder=None,
    imageSize=28, schedule={"kind": "linear", "T": 1000}, epochs=1, steps=10000, batch=128, lr=2e-4, warmup=0,
    lrDecay="constant", objective="eps", minSnr=0, condDrop=0.1, ema=0.999, seed=0, backend="fast", out=".",
    logEvery=50, checkpointEvery=0, sampleEvery=0, sampleCount=64, sampler="ddpm", sampleSteps=1000)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")
    p.add_argument("--out", required=True, help="folder for model.safetensors and config.json")
    p.add_argument("--config", help="a diffusion-ts config.json to start from (network, schedule, recipe)")
    p.add_argument("--network", choices=sorted(NAMED_NETWORKS), help="one of the library's named networks")
    p.add_argument("--classes", type=int, help="numClasses of a mnist32-family net (10: class-conditional)")
    # optimizer steps are --train-steps, as in scripts/train.ts (where --steps is the grids' sampling steps)
    p.add_argument("--train-steps", "--steps", dest="steps", type=int, help="optimizer steps in total (--steps: its older name)")
    for flag, kind in [("batch", int), ("lr", float), ("warmup", int), ("ema", float),
                       ("cond-drop", float), ("min-snr", float), ("timesteps", int), ("image-size", int), ("seed", int)]:
        p.add_argument(f"--{flag}", type=kind)
    p.add_argument("--schedule", choices=["linear", "cosine", "sigmoid"])
    p.add_argument("--objective", choices=["eps", "x0", "v"])
    p.add_argument("--lr-decay", choices=["constant", "cosine"])
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], help="recorded in config.json (same IDX names)")
    p.add_argument("--save-every", type=int, default=0, help="also save every N steps (0: only at the end)")
    p.add_argument("--bf16", action="store_true", help="autocast the forward pass to bfloat16 (GPUs from Ampere on)")
    p.add_argument("--smoke", action="store_true", help="2 steps of the tiny net on CPU, 1 process is enough")
    return p.parse_args()


def make_config(a):
    cfg = copy.deepcopy(DEFAULTS)
    if a.config:
        with open(a.config) as f:
            cfg.update(json.load(f))
    if a.smoke:
        cfg.update(network=NAMED_NETWORKS["tiny"], steps=2, batch=8, schedule={"kind": "cosine", "T": 100}, sampleSteps=100)
    if a.network:
        cfg["network"] = copy.deepcopy(NAMED_NETWORKS[a.network])
        cfg["imageSize"] = 32 if cfg["network"]["kind"] == "simple" else 28  # the seed net halves 4 times
    if a.classes is not None:
        if cfg["network"]["kind"] != "unet":
            raise SystemExit("--classes: only the mnist32-family nets take class labels")
        cfg["network"]["unet"]["numClasses"] = a.classes
    for key in ["steps", "batch", "lr", "warmup", "ema", "objective", "seed", "dataset"]:
        if getattr(a, key) is not None:
            cfg[key] = getattr(a, key)
    for flag, key in [("cond_drop", "condDrop"), ("min_snr", "minSnr"), ("lr_decay", "lrDecay"), ("image_size", "imageSize")]:
        if getattr(a, flag) is not None:
            cfg[key] = getattr(a, flag)
    if a.schedule and a.schedule != cfg["schedule"]["kind"]:
        cfg["schedule"] = {"kind": a.schedule, "T": cfg["schedule"]["T"]}
    if a.timesteps:
        cfg["schedule"]["T"] = a.timesteps
    cfg.update(preset="pytorch-ddp", dataDir=os.path.abspath(a.data_dir), imageFolder=None, out=".",
               sampleSteps=min(cfg["sampleSteps"], cfg["schedule"]["T"]))
    return cfg


def read_idx(folder, name):
    """An IDX file (or its .gz) as a numpy array, the dims from its header (big-endian)."""
    path = os.path.join(folder, name)
    opener = open if os.path.exists(path) else gzip.open
    with opener(path if opener is open else path + ".gz", "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_images(folder, size, limit=None):
    """[N, 1, size, size] in [-1, 1] (bilinear, half-pixel centres when resized) and labels [N]."""
    images = read_idx(folder, "train-images-idx3-ubyte")[:limit]
    labels = read_idx(folder, "train-labels-idx1-ubyte")[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255)[:, None]
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x * 2 - 1, torch.from_numpy(labels.astype(np.int64))


def learning_rate(cfg, step):
    """The library's learningRateAt: warm-up from lr/warmup, then constant or cosine to lr/20."""
    lr, warmup, total = cfg["lr"], cfg["warmup"], cfg["steps"]
    if step < warmup:
        return lr * (step + 1) / warmup
    if cfg["lrDecay"] == "constant":
        return lr
    progress = min(1.0, (step - warmup) / max(1, total - 1 - warmup))
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def save(model, ema, cfg, out):
    os.makedirs(out, exist_ok=True)
    save_weights(ema if ema is not None else model, os.path.join(out, "model.safetensors"))
    if ema is not None:  # the raw weights too; model.safetensors (the EMA) is the one to sample with
        save_weights(model, os.path.join(out, "raw.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def main():
    a = parse_args()
    cfg = make_config(a)
    if "RANK" not in os.environ:  # a single process without torchrun, on a free port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    cuda = torch.cuda.is_available() and not a.smoke
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{os.environ['LOCAL_RANK']}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if cfg["batch"] % world:
        raise SystemExit(f"--batch {cfg['batch']} does not split over {world} processes")
    per_rank = cfg["batch"] // world
    torch.manual_seed(cfg["seed"] * 1000 + rank)

    images, labels = load_images(a.data_dir, cfg["imageSize"], 256 if a.smoke else None)
    images, labels = images.to(device), labels.to(device)
    schedule = Schedule(cfg["schedule"], device)
    model = build_model(cfg).to(device)
    num_classes = cfg["network"].get("unet", {}).get("numClasses", 0)
    ema = copy.deepcopy(model).eval().requires_grad_(False) if cfg["ema"] > 0 and rank == 0 else None
    ddp = DistributedDataParallel(model, device_ids=[device.index] if cuda else None)  # broadcasts rank 0's weights
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8)

    per_epoch = len(images) // cfg["batch"]
    if per_epoch == 0:
        raise SystemExit(f"--batch {cfg['batch']} is larger than the dataset ({len(images)} images)")
    cfg["steps"] = cfg["steps"] or cfg["epochs"] * per_epoch  # null steps: whole epochs, as in the library
    order, started = None, time.time()
    for step in range(cfg["steps"]):
        epoch, i = divmod(step, per_epoch)
        if i == 0:  # the same shuffle on every rank; each takes its own slice of every batch
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(cfg["seed"] + epoch)).to(device)
        idx = order[i * cfg["batch"] + rank * per_rank:i * cfg["batch"] + (rank + 1) * per_rank]
        x0 = images[idx]
        t = torch.randint(0, schedule.T, (per_rank,), device=device)
        noise = torch.randn_like(x0)
        y = None
        if num_classes > 0:
            y = labels[idx].masked_fill(torch.rand(per_rank, device=device) < cfg["condDrop"], num_classes)
        for group in opt.param_groups:
            group["lr"] = learning_rate(cfg, step)
        with torch.autocast(device.type, dtype=torch.bfloat16) if a.bf16 else contextlib.nullcontext():
            pred = ddp(schedule.q_sample(x0, t, noise), t.float(), y)
        err = (pred.float() - schedule.target(cfg["objective"], x0, t, noise)) ** 2
        if cfg["minSnr"] > 0:
            err = err * schedule.min_snr_weights(cfg["objective"], t, cfg["minSnr"])
        loss = err.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            d = min(cfg["ema"], (1 + step) / (10 + step))
            with torch.no_grad():
                for e, p in zip(ema.parameters(), model.parameters()):
                    e.mul_(d).add_(p, alpha=1 - d)
                for e, b in zip(ema.buffers(), model.buffers()):  # batch-norm statistics: copied
                    e.copy_(b)
        if rank == 0 and (step % cfg["logEvery"] == 0 or step == cfg["steps"] - 1):
            rate = (step + 1) * cfg["batch"] / (time.time() - started)
            print(f"step {step + 1}/{cfg['steps']}  loss {loss.item():.4f}  {rate:.0f} images/s", flush=True)
        if rank == 0 and a.save_every and (step + 1) % a.save_every == 0:
            save(model, ema, cfg, a.out)
    if rank == 0:
        save(model, ema, cfg, a.out)
        print(f"saved {os.path.join(a.out, 'model.safetensors')} and config.json", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
