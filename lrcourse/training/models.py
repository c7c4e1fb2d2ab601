"""The book's models: an MLP (Linear → ReLU → … → Linear) with a seeded initialisation."""
from __future__ import annotations

import torch
from torch import nn

from lrcourse import _checks

__all__ = ["mlp"]


def mlp(sizes=(2, 50, 3), seed: int = 0, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """Linear → ReLU → … → Linear with layer widths ``sizes`` (the seed model: 2 → 50 ReLU → 3).

    The weights are torch's default ``nn.Linear`` initialisation drawn after
    ``torch.manual_seed(seed)``, inside a forked RNG so the caller's global state is untouched.
    """
    sizes = _checks.sizes(sizes)
    seed = _checks.seed(seed)
    dtype = _checks.float_dtype(dtype)
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(d_in, d_out, dtype=dtype))
    return nn.Sequential(*layers)
