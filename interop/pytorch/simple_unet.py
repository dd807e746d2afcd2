"""The `seed` network of diffusion-ts (src/layers/simple-unet.ts, seed-block.ts) in plain PyTorch:
the walk-through's SimpleUnet, parametrised by SimpleUnetConfig's fields (camelCase, as in
config.json). Defaults are `seed`'s (62,437,601 parameters); `seedTiny` has downChannels
[8, 16, 32, 64, 128]. Batch norm uses eps 1e-5 and momentum 0.1; its running statistics and
counters are in the state dict, as in the library's checkpoints.
"""
from torch import nn
import torch

from unet import sinusoidal_embedding

SEED = dict(inChannels=1, outChannels=1, downChannels=[64, 128, 256, 512, 1024], timeDim=32)


class SinusoidalEmbedding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, t):
        return sinusoidal_embedding(t, self.dim)


class Block(nn.Module):
    """h = bn1(ReLU(conv1(x))); h += ReLU(time_mlp(temb)); h = bn2(ReLU(conv2(h))); transform(h).

    An up block's conv1 reads [x, residual] (2 * cin channels) and its transform is a
    conv-transpose that doubles H and W; a down block's transform is a stride-2 conv.
    """

    def __init__(self, cin, cout, time_dim, up):
        super().__init__()
        self.time_mlp = nn.Linear(time_dim, cout)
        self.conv1 = nn.Conv2d(2 * cin if up else cin, cout, 3, padding=1)
        self.transform = (nn.ConvTranspose2d if up else nn.Conv2d)(cout, cout, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)

    def forward(self, x, temb):
        h = self.bn1(torch.relu(self.conv1(x)))
        h = h + torch.relu(self.time_mlp(temb))[:, :, None, None]
        h = self.bn2(torch.relu(self.conv2(h)))
        return self.transform(h)


class SimpleUnet(nn.Module):
    """x [B, inChannels, H, W] (H, W divisible by 2^downs), t [B] -> [B, outChannels, H, W]."""

    def __init__(self, **config):
        super().__init__()
        cfg = {**SEED, **config}
        self.config = cfg
        down = list(cfg["downChannels"])
        up = down[::-1]
        td = cfg["timeDim"]
        self.time_mlp = nn.Sequential(SinusoidalEmbedding(td), nn.Linear(td, td), nn.ReLU())
        self.conv0 = nn.Conv2d(cfg["inChannels"], down[0], 3, padding=1)
        self.downs = nn.ModuleList([Block(a, b, td, up=False) for a, b in zip(down, down[1:])])
        self.ups = nn.ModuleList([Block(a, b, td, up=True) for a, b in zip(up, up[1:])])
        self.output = nn.Conv2d(up[-1], cfg["outChannels"], 1)

    def forward(self, x, t, labels=None):
        if labels is not None:
            raise ValueError("the seed SimpleUnet has no class conditioning")
        temb = self.time_mlp(t)
        h = self.conv0(x)
        residuals = []
        for block in self.downs:
            h = block(h, temb)
            residuals.append(h)
        for block in self.ups:
            h = block(torch.cat([h, residuals.pop()], dim=1), temb)
        return self.output(h)
