"""The noise schedules of diffusion-ts (src/ddpm/schedule.ts), in float64, and the training targets.

A schedule config is the library's: {"kind": "linear", "T", "betaStart"?, "betaEnd"?} (defaults
1e-4, 0.02), {"kind": "cosine", "T", "s"?} (0.008) or {"kind": "sigmoid", "T", "start"?, "end"?,
"tau"?} (-3, 3, 1). Timesteps are 0-based: alpha_bar[t] = prod_{s <= t} (1 - beta[s]).
"""
import math

import torch

MAX_BETA = 0.999


def _from_alpha_bar(T, alpha_bar):
    """beta_t = min(1 - alpha_bar(t + 1) / alpha_bar(t), 0.999) for a continuous alpha_bar on [0, T]."""
    return torch.tensor([min(1 - alpha_bar(i + 1) / alpha_bar(i), MAX_BETA) for i in range(T)], dtype=torch.float64)


def betas(cfg):
    T, kind = cfg["T"], cfg["kind"]
    if kind == "linear":  # torch.linspace's arithmetic, which the library reproduces
        return torch.linspace(cfg.get("betaStart", 1e-4), cfg.get("betaEnd", 0.02), T, dtype=torch.float64)
    if kind == "cosine":  # Nichol & Dhariwal (2021), eq. 17
        s = cfg.get("s", 0.008)
        f = lambda step: math.cos(((step / T + s) / (1 + s)) * math.pi / 2) ** 2  # noqa: E731
        return _from_alpha_bar(T, lambda step: f(step) / f(0))
    if kind == "sigmoid":  # Jabri, Fleet & Chen (2022)
        start, end, tau = cfg.get("start", -3.0), cfg.get("end", 3.0), cfg.get("tau", 1.0)
        sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
        v0, v1 = sig(start / tau), sig(end / tau)
        return _from_alpha_bar(T, lambda step: (v1 - sig(((step / T) * (end - start) + start) / tau)) / (v1 - v0))
    raise ValueError(f'unknown schedule kind {kind!r}: expected "linear", "cosine" or "sigmoid"')


class Schedule:
    """sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t) per timestep, as float32 tensors for the loss."""

    def __init__(self, cfg, device="cpu"):
        b = betas(cfg)
        alpha_bar = torch.cumprod(1 - b, dim=0)
        # 1 - alpha_bar, summed from positive terms while alpha_bar > 1/2 (no cancellation), as the library does
        one_minus, prev = torch.empty_like(alpha_bar), (0.0, 1.0)
        for i in range(len(b)):
            one_minus[i] = prev[0] + prev[1] * b[i] if alpha_bar[i] > 0.5 else 1 - alpha_bar[i]
            prev = (one_minus[i].item(), alpha_bar[i].item())
        self.T = len(b)
        self.snr = alpha_bar / one_minus
        self.sqrt_alpha_bar = alpha_bar.sqrt().float().to(device)
        self.sqrt_one_minus = one_minus.sqrt().float().to(device)

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps."""
        return self.sqrt_alpha_bar[t].view(-1, 1, 1, 1) * x0 + self.sqrt_one_minus[t].view(-1, 1, 1, 1) * noise

    def target(self, objective, x0, t, noise):
        """What the network learns to predict: eps, x0, or v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0."""
        if objective == "eps":
            return noise
        if objective == "x0":
            return x0
        if objective == "v":
            return self.sqrt_alpha_bar[t].view(-1, 1, 1, 1) * noise - self.sqrt_one_minus[t].view(-1, 1, 1, 1) * x0
        raise ValueError(f'unknown objective {objective!r}: expected "eps", "x0" or "v"')

    def min_snr_weights(self, objective, t, gamma):
        """Hang et al. (2023): eps: min(SNR, g)/SNR; x0: min(SNR, g); v: min(SNR, g)/(SNR + 1)."""
        snr = self.snr.to(t.device)[t]
        capped = snr.clamp(max=gamma)
        w = {"eps": capped / snr, "x0": capped, "v": capped / (snr + 1)}[objective]
        return w.float().view(-1, 1, 1, 1)
