r"""Adam over a grid of learning rates × weight decays, and over widths under SP or μP.

One batched computation per call: the engine's :class:`~lrcourse.training.engine.StackedMLP`
holds one MLP per member (seed s, η_e, λ_w), member k = s·(E·W) + e·W + w, and this module's
Adam moves every member with its own η_k and λ_k (torch's ``Adam``/``AdamW`` formulas, per
tensor i with a learning-rate multiplier c_i and an ε_i):

    L2 (``decay="l2"``, torch.optim.Adam(weight_decay=λ)):   g ← ∇L + λ·θ
    m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²,   m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)
    decoupled (``decay="decoupled"``, torch.optim.AdamW(weight_decay=λ)):  θ ← (1 − η·c·λ)·θ
    θ ← θ − η·c·m̂/(√v̂ + ε_i)

``sweep_optimizer`` cannot do this: its ``UnitStep`` takes one weight decay for every member.

**μP** (``base_sizes`` given): the members are :func:`lrcourse.training.mup.mup_mlp` models
trained with ``torch.optim.Adam(mup_param_groups(model, η, "adam"))``. The engine has no
readout multiplier, so the readout's weight is stored as W' = W/m (m its fan-in's width
multiplier): W'·h = W·(h/m), the μP forward pass. Adam on W with rate η and ε is, exactly,
Adam on W' = W/m with rate η/m and ε·m (the gradient of W' is m times that of W, so m̂ scales
by m and √v̂ by m). Every other tensor gets μP's multiplier c from
:func:`lrcourse.training.mup.lr_multipliers`. Weight decay is not offered with μP.

Every member equals its own ``train(model, optimizer, …)`` run (tests/test_adam_grid.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lrcourse import _checks
from lrcourse.training.engine import StackedMLP, train_members
from lrcourse.training.models import mlp
from lrcourse.training.mup import lr_multipliers, mup_mlp

__all__ = ["AdamGrid", "sweep_adam", "DECAYS"]

DECAYS = ("l2", "decoupled")


@dataclass
class AdamGrid:
    """Per-member results, arrays (n_seeds, n_etas, n_decays[, epochs]); NaN after divergence."""

    etas: np.ndarray
    decays: np.ndarray
    seeds: tuple[int, ...]
    decay: str
    sizes: tuple[int, ...]
    base_sizes: tuple[int, ...] | None
    epochs: int
    train_loss: np.ndarray  # (S, E, W, epochs): mean batch loss of each epoch
    val_loss: np.ndarray  # (S, E, W, epochs): hold-out loss after each epoch
    val_acc: np.ndarray  # (S, E, W, epochs)
    test_loss: np.ndarray  # (S, E, W): after the last epoch
    test_acc: np.ndarray  # (S, E, W)
    diverged_at: np.ndarray  # (S, E, W) int: epoch of divergence, −1 if never


def _decays(decays) -> np.ndarray:
    values = np.ravel(np.asarray(decays, dtype=object))
    if values.size == 0:
        raise ValueError("Invalid decays: empty (need at least one weight decay ≥ 0)")
    return np.array([_checks.lr(v, "weight_decay value") for v in values], dtype=np.float64)


def _members(sizes, base_sizes, seeds, dtype, eps):
    """Each seed's initial [W_1, b_1, …] (readout W stored as W/m under μP) and, per tensor of
    StackedMLP.tensors ([W_1|b_1], W_2…W_L, b_2…b_L), its learning-rate multiplier and ε."""
    L = len(sizes) - 1
    if base_sizes is None:
        nets = [list(mlp(sizes, s, dtype).parameters()) for s in seeds]
        return nets, [1.0] * (2 * L - 1), [eps] * (2 * L - 1)
    mults = lr_multipliers(sizes, base_sizes, "adam")
    m = sizes[-2] / base_sizes[-2]  # the readout's fan-in multiplier
    nets = []
    for s in seeds:
        params = [p.detach().clone() for p in mup_mlp(sizes, base_sizes, s, dtype).parameters()]
        params[-2] = params[-2] / m  # W' = W/m
        nets.append(params)
    if mults[0][0] != mults[0][1]:  # [W_1 | b_1] is one tensor: one multiplier
        raise ValueError("the input layer's weight and bias need the same multiplier")
    lr = [mults[0][0]] + [c for c, _ in mults[1:]] + [c for _, c in mults[1:]]
    eps_i = [eps] * len(lr)
    lr[L - 1] /= m  # the readout's W'
    eps_i[L - 1] = eps * m
    return nets, lr, eps_i


def sweep_adam(etas, data, *, sizes, epochs: int, batch_size: int, seeds=(0,), decays=(0.0,),
               decay: str = "l2", base_sizes=None, betas=(0.9, 0.999), eps: float = 1e-8,
               dtype: torch.dtype = torch.float32, threads: int | None = 1) -> AdamGrid:
    """Train one MLP per (seed, η, λ) with Adam (``decay="l2"``) or AdamW (``"decoupled"``),
    or, with ``base_sizes``, one μP MLP per (seed, η) with μP's Adam; see the module docstring."""
    eta_values = _checks.etas(etas)
    decay_values = _decays(decays)
    seeds = _checks.seeds(seeds)
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    dtype = _checks.float_dtype(dtype)
    if decay not in DECAYS:
        raise ValueError(f"Invalid decay: {decay!r} (choose one of {', '.join(DECAYS)})")
    C, d0 = int(data.n_classes), int(data.X_train.shape[1])
    sizes = _checks.sizes(sizes)
    if sizes[0] != d0 or sizes[-1] != C:
        raise ValueError(f"Invalid sizes: {sizes} (the data have {d0} features and {C} classes)")
    if base_sizes is not None:
        base_sizes = _checks.sizes(base_sizes, "base_sizes")
        if np.any(decay_values != 0):
            raise ValueError("Invalid decays: weight decay is not offered with μP (base_sizes)")
    b1, b2 = (float(b) for b in betas)
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"Invalid betas: {betas!r} (each must lie in [0, 1))")
    eps = _checks.lr(eps, "epsilon value")

    S, E, W = len(seeds), len(eta_values), len(decay_values)
    K = S * E * W
    nets, lr_mult, eps_i = _members(sizes, base_sizes, seeds, dtype, eps)
    stack = StackedMLP.from_nets(nets, E * W)
    params = stack.tensors
    eta = torch.tensor(np.repeat(eta_values, W), dtype=dtype).repeat(S)  # (K,)
    lam = torch.tensor(decay_values, dtype=dtype).repeat(S * E)
    exp_avg = [torch.zeros_like(p) for p in params]
    exp_avg_sq = [torch.zeros_like(p) for p in params]

    def shaped(v, p):
        return v.view((K,) + (1,) * (p.dim() - 1))

    t = 0

    def step(grads, alive):
        nonlocal t
        t += 1
        bc1, bc2_sqrt = 1 - b1**t, (1 - b2**t) ** 0.5
        for i, (p, g) in enumerate(zip(params, grads)):
            rate = shaped(torch.where(alive, eta * lr_mult[i], 0.0), p)
            if decay == "l2":
                g = g.add(p * shaped(lam, p))  # g ← ∇L + λ·θ
            else:
                p.mul_(1 - rate * shaped(lam, p))  # θ ← (1 − η·λ)·θ
            exp_avg[i].lerp_(g, 1 - b1)
            exp_avg_sq[i].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (exp_avg_sq[i].sqrt() / bc2_sqrt).add_(eps_i[i])
            p.sub_(rate / bc1 * exp_avg[i] / denom)  # θ ← θ − η·m̂/(√v̂ + ε)

    run = train_members(stack, data, step, seeds=seeds, sizes=sizes, epochs=epochs,
                        batch_size=batch_size, dtype=dtype, threads=threads)

    def grid(a):
        return a.reshape(S, E, W, *a.shape[1:])

    return AdamGrid(eta_values, decay_values, seeds, decay, sizes, base_sizes, epochs,
                    **{c: grid(run[c]) for c in ("train_loss", "val_loss", "val_acc")},
                    test_loss=grid(run["test_loss"]), test_acc=grid(run["test_acc"]),
                    diverged_at=grid(run["diverged_at"]))
