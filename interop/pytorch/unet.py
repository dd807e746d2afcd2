"""The `mnist32` U-Net family of diffusion-ts (src/layers/unet.ts) in plain PyTorch.

Attribute names follow the library's parameter names, so `state_dict()` has exactly the keys of
its checkpoints. Config fields are UnetConfig's, in camelCase as they appear in config.json.
Defaults are `mnist32`'s (2,835,329 parameters).
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

MNIST32 = dict(inChannels=1, baseChannels=32, channelMults=[1, 2, 4], blocksPerLevel=2, attentionLevels=[],
               sinusoidalDim=128, timeDim=128, groups=8, heads=4, numClasses=0)


def sinusoidal_embedding(t, dim):
    """t [B] -> [B, dim] = concat(sin(t*f), cos(t*f)), f_i = exp(-ln(10000) * i / (dim/2 - 1)).

    The frequencies are computed in float64 and rounded once, as the library does.
    """
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64, device=t.device)
    f = torch.exp(-math.log(10000) * i / (half - 1)).to(torch.float32)
    args = t.to(torch.float32)[:, None] * f[None, :]
    return torch.cat([args.sin(), args.cos()], dim=1)


def conv3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """h = SiLU(GN(conv1(x))*(1 + scale) + shift); h = SiLU(GN(conv2(h))); out = h + skip(x)."""

    def __init__(self, cin, cout, time_dim, groups):
        super().__init__()
        self.mlp = nn.Linear(time_dim, 2 * cout)  # (scale, shift), the scale first
        self.conv1 = conv3(cin, cout)
        self.norm1 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = conv3(cout, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None  # identity: no tensors

    def forward(self, x, temb):
        scale, shift = self.mlp(F.silu(temb))[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.norm1(self.conv1(x)) * (1 + scale) + shift)
        h = F.silu(self.norm2(self.conv2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class Attention(nn.Module):
    """Pre-norm multi-head self-attention over pixels, with a residual."""

    def __init__(self, channels, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels, eps=1e-5)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1, bias=False)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        d, n = c // self.heads, h * w
        # the qkv channels read as [3, heads, d]; each head's q, k, v are [d, n]
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, d, n).unbind(dim=1)
        attn = torch.softmax(q.transpose(-1, -2) @ k / math.sqrt(d), dim=-1)  # [b, heads, n_i, n_j]
        o = v @ attn.transpose(-1, -2)  # o_i = sum_j attn_ij v_j: [b, heads, d, n]
        return x + self.out(o.reshape(b, c, h, w))


class Unet(nn.Module):
    """x [B, C, H, W], t [B] (timesteps), labels [B] (class-conditional nets; numClasses is the
    null class) -> the prediction [B, C, H, W]. H and W must divide by 2^(levels - 1)."""

    def __init__(self, **config):
        super().__init__()
        cfg = {**MNIST32, **config}
        self.config = cfg
        chs = [m * cfg["baseChannels"] for m in cfg["channelMults"]]
        levels, nb, td, g = len(chs), cfg["blocksPerLevel"], cfg["timeDim"], cfg["groups"]
        attended = set(cfg["attentionLevels"])

        def level_attns(i):
            return nn.ModuleList([Attention(chs[i], cfg["heads"], g) for _ in range(nb)] if i in attended else [])

        # registration order = the library's state-dict order
        self.time_mlp = nn.Sequential(nn.Linear(cfg["sinusoidalDim"], td), nn.SiLU(), nn.Linear(td, td))
        if cfg["numClasses"] > 0:  # one row per class, and a last row for the null class
            self.class_emb = nn.Embedding(cfg["numClasses"] + 1, td)
        self.init_conv = conv3(cfg["inChannels"], cfg["baseChannels"])
        self.down_blocks = nn.ModuleList([
            nn.ModuleList([ResBlock(c if j > 0 else chs[i - 1] if i > 0 else cfg["baseChannels"], c, td, g)
                           for j in range(nb)])
            for i, c in enumerate(chs)])
        if attended:
            self.down_attns = nn.ModuleList([level_attns(i) for i in range(levels)])
        self.downsamples = nn.ModuleList([conv3(c, c, stride=2) for c in chs[:-1]])
        self.mid1 = ResBlock(chs[-1], chs[-1], td, g)
        self.mid_attn = Attention(chs[-1], cfg["heads"], g)
        self.mid2 = ResBlock(chs[-1], chs[-1], td, g)
        # up level k works at level i = levels - 1 - k, on [h, skip_i]
        ups = list(reversed(range(levels)))
        self.up_blocks = nn.ModuleList([
            nn.ModuleList([ResBlock(chs[i] if j > 0 else 2 * chs[i], chs[i], td, g) for j in range(nb)])
            for i in ups])
        if attended:
            self.up_attns = nn.ModuleList([level_attns(i) for i in ups])
        self.upsamples = nn.ModuleList([conv3(chs[i], chs[i - 1]) for i in ups if i > 0])
        self.out_norm = nn.GroupNorm(g, chs[0], eps=1e-5)
        self.out_conv = conv3(chs[0], cfg["inChannels"])
        self.levels = levels

    def _level(self, h, blocks, attns, temb):
        for j, block in enumerate(blocks):
            h = block(h, temb)
            if attns is not None and len(attns) > 0:
                h = attns[j](h)
        return h

    def forward(self, x, t, labels=None):
        temb = self.time_mlp(sinusoidal_embedding(t, self.config["sinusoidalDim"]))
        if labels is not None:
            if not hasattr(self, "class_emb"):
                raise ValueError("class labels were given to a network without classes (numClasses = 0)")
            temb = temb + self.class_emb(labels.long())
        down_attns = getattr(self, "down_attns", None)
        up_attns = getattr(self, "up_attns", None)
        h = self.init_conv(x)
        skips = []
        for i in range(self.levels):
            h = self._level(h, self.down_blocks[i], down_attns[i] if down_attns else None, temb)
            skips.append(h)
            if i < self.levels - 1:
                h = self.downsamples[i](h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        for k in range(self.levels):
            i = self.levels - 1 - k
            h = self._level(torch.cat([h, skips[i]], dim=1), self.up_blocks[k], up_attns[k] if up_attns else None, temb)
            if i > 0:
                h = self.upsamples[k](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.out_conv(F.silu(self.out_norm(h)))
