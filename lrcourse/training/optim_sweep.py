"""Any optimizer, K learning rates (and seeds), one batched computation.

The K members are the stacked MLPs of the batched engine (:mod:`lrcourse.training.engine`:
W_l (K, d_out, d_in), b_l (K, d_out, 1), feature-major activations); one forward and one
backward pass per mini-batch give every member its own gradient ∇L_k of its mean
cross-entropy L_k. One optimizer, shared through :class:`lrcourse.optim.unit_step.UnitStep`,
then moves member k by its own η_k:

    θ_k ← θ_k − η_k·d_k,   d_k = the optimizer's direction for member k's gradients

which is what ``optimizer_cls(model_k.parameters(), lr=η_k, **hyper)`` does in
``train`` (to rounding). Member k = (seed s, η e) starts from ``mlp(sizes, s)``
and sees the batches of ``epoch_orders(n, s)``, as ``train(..., seed=s)`` does.
As there, a member whose batch loss is NaN/inf takes no step with it and is marked diverged
at that epoch (as is one whose hold-out loss is non-finite); it stays frozen from then on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lrcourse import _checks
from lrcourse.training.engine import StackedMLP, train_members
from lrcourse.training.models import mlp
from lrcourse._runtime import show_progress
from lrcourse.optim.unit_step import UnitStep

__all__ = ["OptimizerSweep", "sweep_optimizer"]

CURVES = ("train_loss", "val_loss", "val_acc")


@dataclass
class OptimizerSweep:
    """Per-member results, arrays of shape (n_seeds, n_etas[, epochs]); NaN after divergence."""

    optimizer: str
    hyper: dict
    etas: np.ndarray  # (n_etas,)
    seeds: tuple[int, ...]
    epochs: int
    train_loss: np.ndarray  # (S, E, epochs): mean batch loss of each epoch
    val_loss: np.ndarray  # (S, E, epochs): hold-out loss after each epoch
    val_acc: np.ndarray  # (S, E, epochs): hold-out accuracy after each epoch
    test_loss: np.ndarray  # (S, E): test-split loss after the last epoch
    test_acc: np.ndarray  # (S, E): test-split accuracy after the last epoch
    diverged_at: np.ndarray  # (S, E) int: epoch of divergence, −1 if never

    def to_frame(self):
        """Long format: one row per (seed, η, epoch) up to each member's last epoch (the one it
        diverged in, if it did), with optimizer, the curves and diverged."""
        import pandas as pd

        S, E, T = self.val_acc.shape
        s, e, t = (a.ravel() for a in np.meshgrid(np.arange(S), np.arange(E), np.arange(T), indexing="ij"))
        last = np.where(self.diverged_at >= 0, self.diverged_at, T - 1)[s, e]
        frame = pd.DataFrame({
            "optimizer": self.optimizer,
            "seed": np.asarray(self.seeds)[s],
            "eta": self.etas[e],
            "epoch": t,
            **{c: getattr(self, c).ravel() for c in CURVES},
            "diverged": (self.diverged_at >= 0)[s, e],
        })
        return frame[t <= last].reset_index(drop=True)


def sweep_optimizer(optimizer_cls, etas, data, *, sizes=None, epochs: int, batch_size: int,
                    seeds=(0,), dtype: torch.dtype = torch.float32, progress: bool | str = "auto",
                    threads: int | None = 1, **hyper) -> OptimizerSweep:
    """Train one MLP per (seed, η) with ``optimizer_cls(lr=η, **hyper)`` as one computation.

    ``sizes`` defaults to (n_features, 50, n_classes). ``hyper`` are the optimizer's other
    keyword arguments (its defaults apply). See the module docstring for what each member is.
    """
    eta_values = _checks.etas(etas)
    seeds = _checks.seeds(seeds)
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    dtype = _checks.float_dtype(dtype)
    C, d0 = int(data.n_classes), int(data.X_train.shape[1])
    sizes = _checks.sizes((d0, 50, C) if sizes is None else sizes)
    if sizes[0] != d0 or sizes[-1] != C:
        raise ValueError(f"Invalid sizes: {sizes} (the data have {d0} features and {C} classes)")
    show = show_progress(progress)

    S, E = len(seeds), len(eta_values)
    K = S * E  # member k = s·E + e
    stack = StackedMLP.from_nets([list(mlp(sizes, s, dtype).parameters()) for s in seeds], E)
    params = stack.tensors  # the optimizer moves these tensors in place; no member ever leaves
    stepper = UnitStep(optimizer_cls, params, **hyper)
    eta = torch.tensor(eta_values, dtype=dtype).repeat(S)

    def step(grads, alive):
        stepper.step(params, grads, eta, alive)

    run = train_members(stack, data, step, seeds=seeds, sizes=sizes, epochs=epochs,
                        batch_size=batch_size, dtype=dtype, threads=threads, show=show,
                        desc=f"{optimizer_cls.__name__} K={K}")

    def shaped(a):
        return a.reshape(S, E, *a.shape[1:])

    return OptimizerSweep(
        optimizer=optimizer_cls.__name__, hyper=dict(hyper), etas=eta_values, seeds=seeds,
        epochs=epochs, **{c: shaped(run[c]) for c in CURVES}, test_loss=shaped(run["test_loss"]),
        test_acc=shaped(run["test_acc"]), diverged_at=shaped(run["diverged_at"]),
    )
