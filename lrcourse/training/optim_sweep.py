"""Any optimizer, K learning rates (and seeds), one batched computation.

K copies of an MLP keep their weights stacked, W_l of shape (K, d_out, d_in) and b_l of shape
(K, d_out); one forward and one backward pass (``bmm``, written out by hand) per mini-batch
give every member its own gradient ∇L_k of its mean cross-entropy L_k. One optimizer, shared through
:class:`lrcourse.optim.unit_step.UnitStep`, then moves member k by its own η_k:

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
import torch.nn.functional as F

from lrcourse import _checks
from lrcourse.training.metrics import accuracy
from lrcourse.training.loop import epoch_orders
from lrcourse.training.models import mlp
from lrcourse._runtime import num_threads, progress_bar, show_progress
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


def _forward(Ws, bs, x, keep=False):
    """Logits of every member: x (K, B, d_0) → (K, B, C), Linear → ReLU → … → Linear.
    With ``keep``, also the inputs a_0 = x, a_1, … of every layer (for the backward pass)."""
    acts, h = [x], x
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))  # z = a·Wᵀ + b, as nn.Linear
        if i < len(Ws) - 1:
            h = torch.relu(h)
            acts.append(h)
    return (h, acts) if keep else h


def _loss_and_grads(Ws, bs, x, y):
    """Each member's mean cross-entropy on its batch, and its gradients (written out by hand;
    ~20 % faster than autograd for the chapter's MLP, and no graph is kept). With p = softmax(z_L) and one-hot targets Y:
    ∂L/∂z_L = (p − Y)/B, ∂L/∂W_l = (∂L/∂z_l)ᵀ·a_{l−1}, ∂L/∂b_l = Σ_batch ∂L/∂z_l,
    ∂L/∂a_{l−1} = ∂L/∂z_l·W_l, and ∂L/∂z_{l−1} = ∂L/∂a_{l−1} where a_{l−1} > 0, else 0."""
    logits, acts = _forward(Ws, bs, x, keep=True)
    logp = torch.log_softmax(logits, 2)
    loss = -logp.gather(2, y.unsqueeze(2)).squeeze(2).mean(1)  # (K,)
    delta = logp.exp_()
    delta.scatter_add_(2, y.unsqueeze(2), torch.full_like(delta[..., :1], -1.0)).div_(y.shape[1])
    gWs, gbs = [None] * len(Ws), [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        gWs[l] = torch.bmm(delta.transpose(1, 2), acts[l])
        gbs[l] = delta.sum(1)
        if l:
            delta = torch.bmm(delta, Ws[l]).mul_(acts[l] > 0)
    return loss, gWs + gbs


@torch.no_grad()
def _evaluate(Ws, bs, X, y):
    """(loss, accuracy) of every member on (X, y), as float64 numpy arrays of shape (K,)."""
    K = Ws[0].shape[0]
    if len(y) == 0:
        return np.full(K, np.nan), np.full(K, np.nan)
    logits = _forward(Ws, bs, X.expand(K, -1, -1))
    loss = F.cross_entropy(logits.transpose(1, 2), y.expand(K, -1), reduction="none").mean(1)
    acc = accuracy(logits, y, dim=2)
    return loss.double().numpy(), acc.numpy()


def sweep_optimizer(optimizer_cls, etas, data, *, sizes=None, epochs: int, batch_size: int,
                    seeds=(0,), dtype: torch.dtype = torch.float32, progress: bool | str = "auto",
                    threads: int | None = 1, **hyper) -> OptimizerSweep:
    """Train one MLP per (seed, η) with ``optimizer_cls(lr=η, **hyper)`` as one computation.

    ``sizes`` defaults to (n_features, 50, n_classes). ``hyper`` are the optimizer's other
    keyword arguments (its defaults apply). See the module docstring for what each member is.
    """
    eta_values = np.array([_checks.lr(e) for e in np.atleast_1d(np.asarray(etas, dtype=object))], dtype=float)
    if eta_values.size == 0:
        raise ValueError("Invalid learning rates: need at least one")
    seeds = tuple(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(f"Invalid seeds: {seeds!r} (need non-negative integers)")
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    C, d0 = int(data.n_classes), int(data.X_train.shape[1])
    sizes = _checks.sizes((d0, 50, C) if sizes is None else sizes)
    if sizes[0] != d0 or sizes[-1] != C:
        raise ValueError(f"Invalid sizes: {sizes} (the data have {d0} features and {C} classes)")
    show = show_progress(progress)

    S, E = len(seeds), len(eta_values)
    K = S * E  # member k = s·E + e
    X, y = data.X_train.to(dtype), data.y_train
    X_val, X_test = data.X_val.to(dtype), data.X_test.to(dtype)
    n = len(y)
    nets = [list(mlp(sizes, s, dtype).parameters()) for s in seeds]
    L = len(sizes) - 1
    Ws = [torch.stack([p[2 * l].detach() for p in nets]).repeat_interleave(E, 0) for l in range(L)]
    bs = [torch.stack([p[2 * l + 1].detach() for p in nets]).repeat_interleave(E, 0) for l in range(L)]
    params = Ws + bs
    stepper = UnitStep(optimizer_cls, params, **hyper)
    eta = torch.tensor(eta_values, dtype=dtype).repeat(S)
    member_seed = torch.arange(K) // E
    alive = torch.ones(K, dtype=torch.bool)

    out = {c: np.full((K, epochs), np.nan) for c in CURVES}
    diverged_at = np.full(K, -1)
    orders = [epoch_orders(n, s) for s in seeds]
    with num_threads(threads), torch.no_grad():
        bar = progress_bar(epochs, show, f"{optimizer_cls.__name__} K={K}")
        for epoch in bar:
            order = torch.stack([next(o) for o in orders])  # (S, n)
            Xs, ys = X[order], y[order]  # (S, n, d), (S, n)
            running = alive.clone()  # members that start this epoch
            total = torch.zeros(K, dtype=torch.float64)
            seen = torch.zeros(K, dtype=torch.float64)
            for start in range(0, n, batch_size):
                cut = slice(start, start + batch_size)
                if S == 1:
                    xb, yb = Xs[0, cut].expand(K, -1, -1), ys[0, cut].expand(K, -1)
                else:
                    xb, yb = Xs[member_seed, cut], ys[member_seed, cut]
                loss, grads = _loss_and_grads(Ws, bs, xb, yb)  # (K,), [∂L/∂W_l …, ∂L/∂b_l …]
                value = loss.double()
                total += torch.where(alive, value * yb.shape[1], 0.0)
                seen += alive * yb.shape[1]
                alive &= torch.isfinite(value)  # a non-finite loss: no step with it, frozen
                stepper.step(params, [g.nan_to_num_(0.0, 0.0, 0.0) for g in grads], eta, alive)
            v_loss, v_acc = _evaluate(Ws, bs, X_val, data.y_val)
            rows = running.numpy()
            out["train_loss"][rows, epoch] = (total / seen).numpy()[rows]
            out["val_loss"][rows, epoch] = v_loss[rows]
            out["val_acc"][rows, epoch] = v_acc[rows]
            if len(data.y_val):
                alive &= torch.from_numpy(np.isfinite(v_loss))
            diverged_at[rows & ~alive.numpy()] = epoch
            if show:
                bar.set_postfix(alive=f"{int(alive.sum())}/{K}", refresh=False)
            if not bool(alive.any()):
                break
        bar.close()
    t_loss, t_acc = _evaluate(Ws, bs, X_test, data.y_test)
    gone = diverged_at >= 0
    t_loss[gone], t_acc[gone] = np.nan, np.nan

    def shaped(a):
        return a.reshape(S, E, *a.shape[1:])

    return OptimizerSweep(
        optimizer=optimizer_cls.__name__, hyper=dict(hyper), etas=eta_values, seeds=seeds,
        epochs=epochs, **{c: shaped(out[c]) for c in CURVES}, test_loss=shaped(t_loss),
        test_acc=shaped(t_acc), diverged_at=shaped(diverged_at),
    )
