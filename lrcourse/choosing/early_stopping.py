"""Early stopping from the hold-out set, with the test split kept for reporting only.

The three splits have three jobs: the training split moves θ, the hold-out (val) split
chooses, the test split only reports. A run that recorded its hold-out loss L_val(e) after
every epoch e = 0 … T−1 is stopped at

    e* = argmin_e L_val(e)      (the first minimum; NaN epochs, after a divergence, never count)

or, with a patience p (Prechelt 1998), at the best epoch seen when p epochs in a row brought
no new minimum — what a run that really stops would have kept. Its reported score is the
*test* accuracy at e*.

To read test numbers at any epoch off a batched run, :func:`sweep_splits` trains the
(seed, η) members exactly as :func:`lrcourse.training.sweep.sweep_lr` does — the same stacked SGD
update θ_k ← θ_k − η_k·v_k, v_k ← β·v_k + ∇L_k (v_k = ∇L_k when β = 0), the same initial θ
and batch order per seed — and after every epoch scores θ on all three splits (loss and
accuracy). Nothing here chooses anything from the test curves.

A lower η needs more steps to get as far: after t steps SGD has moved θ by at most η·t times
the largest gradient it met, so runs are also compared at equal "progress" η·t
(:func:`epoch_at_progress`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# the stacked SGD members of lrcourse.training.sweep, so that a member here is a member there
from lrcourse import _checks
from lrcourse.training.sweep import EVAL_BUDGET, _chunks, _epoch_batches, _Stack
from lrcourse.training.metrics import accuracy
from lrcourse.training.loop import epoch_orders
from lrcourse.training.models import mlp
from lrcourse._runtime import num_threads, progress_bar, show_progress

__all__ = ["SplitCurves", "sweep_splits", "best_epoch", "at_epoch", "epoch_at_progress"]

SPLITS = ("train", "val", "test")
CURVES = tuple(f"{split}_{metric}" for split in SPLITS for metric in ("loss", "acc"))


@dataclass
class SplitCurves:
    """Loss and accuracy on every split after every epoch, arrays (n_seeds, n_etas, epochs);
    NaN after a member diverged. ``train_loss`` is the loss on the whole training split at
    the end of the epoch (the same θ as the hold-out and test numbers)."""

    etas: np.ndarray  # (n_etas,)
    seeds: tuple[int, ...]
    epochs: int
    batch_size: int
    steps_per_epoch: int  # N = ⌈n_train / batch_size⌉
    momentum: float
    train_loss: np.ndarray
    train_acc: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    diverged_at: np.ndarray  # (n_seeds, n_etas) int: epoch of divergence, −1 if never

    def to_frame(self):
        """Long format, one row per (seed, η, epoch) up to each member's last epoch: columns
        seed, eta, epoch, the six curves, diverged."""
        import pandas as pd

        S, E, T = self.val_loss.shape
        s, e, t = (a.ravel() for a in np.meshgrid(np.arange(S), np.arange(E), np.arange(T), indexing="ij"))
        last = np.where(self.diverged_at >= 0, self.diverged_at, T - 1)[s, e]
        frame = pd.DataFrame({
            "seed": np.asarray(self.seeds)[s],
            "eta": self.etas[e],
            "epoch": t,
            **{c: getattr(self, c).ravel() for c in CURVES},
            "diverged": (self.diverged_at >= 0)[s, e],
        })
        return frame[t <= last].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# choosing the epoch (hold-out only) and reading a curve there


def best_epoch(val_loss, patience: int | None = None) -> np.ndarray:
    """The early-stopping epoch of each run: e* = argmin_e L_val(e) over the last axis.

    With ``patience`` p the run is read epoch by epoch and stops once p epochs in a row
    brought no new (strictly lower) minimum; e* is the best epoch up to there. A NaN
    (the run diverged) ends the run. Returns an int array of the leading shape; −1 where a
    run has no finite hold-out loss at all.
    """
    v = np.asarray(val_loss, dtype=np.float64)
    if v.ndim == 0 or v.shape[-1] == 0:
        raise ValueError("val_loss must have a non-empty last (epoch) axis")
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, (int, np.integer))
                                 or patience < 1):
        raise ValueError(f"Invalid patience: {patience!r} (must be a positive integer)")
    if patience is None:
        finite = np.isfinite(v)
        # NaN only ever follows a divergence, so "first finite minimum" is argmin with NaN → +∞
        e = np.where(finite, v, np.inf).argmin(-1)
        return np.where(finite.any(-1), e, -1)
    rows = v.reshape(-1, v.shape[-1])
    out = np.full(len(rows), -1)
    for r, curve in enumerate(rows):
        best = math.inf
        for t, value in enumerate(curve):
            if not math.isfinite(value):
                break
            if value < best:
                best, out[r] = value, t
            elif t - out[r] >= patience:
                break
    return out.reshape(v.shape[:-1])


def at_epoch(curve, epochs) -> np.ndarray:
    """``curve[..., epochs]`` per run: curve (..., T), epochs (...) ints; NaN where the epoch
    is −1 (no epoch chosen)."""
    c = np.asarray(curve, dtype=np.float64)
    e = np.asarray(epochs)
    if c.shape[:-1] != e.shape:
        raise ValueError(f"Shapes do not match: curve {c.shape} and epochs {e.shape}")
    if e.size and (e.min() < -1 or e.max() >= c.shape[-1]):
        raise ValueError(f"Epochs must be in [-1, {c.shape[-1] - 1}]")
    picked = np.take_along_axis(c, np.maximum(e, 0)[..., None], -1)[..., 0]
    return np.where(e >= 0, picked, np.nan)


def epoch_at_progress(etas, steps_per_epoch: int, progress: float, epochs: int) -> np.ndarray:
    """For each η, the first epoch e (0-based) at whose end η·t ≥ ``progress``, with
    t = (e + 1)·N steps taken: e = ⌈progress / (η·N)⌉ − 1; −1 where that is beyond ``epochs``."""
    eta = np.array([_checks.lr(x) for x in np.atleast_1d(etas)], dtype=np.float64)
    steps_per_epoch = _checks.positive_int(steps_per_epoch, "steps_per_epoch")
    epochs = _checks.positive_int(epochs, "epochs")
    if not (isinstance(progress, (int, float)) and math.isfinite(progress) and progress > 0):
        raise ValueError(f"Invalid progress: {progress!r} (must be a positive number)")
    if np.any(eta <= 0):
        raise ValueError("Invalid learning rate: 0.0 (progress η·t needs η > 0)")
    need = progress / (eta * steps_per_epoch)  # epochs of N steps needed
    e = np.ceil(need * (1 - 1e-12)).astype(np.int64) - 1  # (1 − 1e-12): rounding, not a step more
    e = np.maximum(e, 0)
    return np.where(e < epochs, e, -1)


# ---------------------------------------------------------------------------------------------
# the batched run, scored on three splits


def _check_seeds(seeds) -> tuple[int, ...]:
    chosen = list(seeds)
    if not chosen:
        raise ValueError("Invalid seeds: [] (need at least one)")
    for s in chosen:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"Invalid seed: {s!r} (must be a non-negative integer)")
    return tuple(int(s) for s in chosen)


def _loss_and_accuracy(stack, chunks, y):
    """Every member's mean cross-entropy and accuracy on one split (float64 numpy, (K,))."""
    K = len(stack)
    if len(y) == 0:
        return np.full(K, np.nan), np.full(K, np.nan)
    width = max((W.shape[1] for W in stack.Ws[:-1]), default=0)
    size = K * width * max(x.shape[1] for x in chunks)
    if not stack.scratch or stack.scratch[0].numel() < size:  # hidden activations, reused
        stack.scratch = [chunks[0].new_empty(size) for _ in stack.Ws[:-1]]
    logits = torch.cat([stack.forward(x.expand(K, *x.shape), stack.scratch)[1] for x in chunks], 2)
    logp = torch.log_softmax(logits, 1)  # (K, C, n)
    loss = -logp.gather(1, y.expand(K, 1, -1)).mean((1, 2))
    return loss.double().numpy(), accuracy(logits, y, dim=1).numpy()


def sweep_splits(
    etas,
    data,
    *,
    sizes=None,
    epochs: int,
    batch_size: int,
    seeds=(0,),
    momentum: float = 0.0,
    dtype: torch.dtype = torch.float32,
    progress: bool | str = "auto",
    threads: int | None = 1,
) -> SplitCurves:
    """Train one MLP per (seed, η) as one batched computation, as ``sweep_lr(etas, data,
    seeds=seeds, …)`` does, scoring loss and accuracy on train, hold-out and test after each
    epoch. ``sizes`` defaults to (n_features, 50, n_classes). A member diverges (its curves
    stop) at the epoch where a batch loss or its hold-out loss turns NaN/inf."""
    eta_values = np.array([_checks.lr(v) for v in np.atleast_1d(np.asarray(etas, dtype=object))], dtype=np.float64)
    if eta_values.size == 0:
        raise ValueError("Invalid learning rates: need at least one")
    seed_list = _check_seeds(seeds)
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not math.isfinite(momentum) or momentum < 0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"Invalid dtype: {dtype!r} (must be a floating torch dtype)")
    show = show_progress(progress)
    C, d0 = int(data.n_classes), int(data.X_train.shape[1])
    sizes = _checks.sizes((d0, 50, C) if sizes is None else sizes)
    if sizes[0] != d0 or sizes[-1] != C:
        raise ValueError(f"Invalid sizes: {sizes} (the data have {d0} features and {C} classes)")

    S, E = len(seed_list), len(eta_values)
    K = S * E  # member k = s·E + e
    X, y = data.X_train.to(dtype), data.y_train
    n = len(y)
    chunk = int(np.clip(EVAL_BUDGET // (K * max(sizes[1:-1], default=1)), 16, 512))
    scored = {
        "train": (_chunks(X, chunk), y),
        "val": (_chunks(data.X_val.to(dtype), chunk), data.y_val),
        "test": (_chunks(data.X_test.to(dtype), chunk), data.y_test),
    }
    nets = [[p.detach() for p in mlp(sizes, s, dtype).parameters()] for s in seed_list]
    stack = _Stack(nets, E, eta_values, float(momentum), dtype)
    one_hot = F.one_hot(y, C).to(dtype)
    orders = [epoch_orders(n, s) for s in seed_list]
    out = {c: np.full((K, epochs), np.nan) for c in CURVES}
    diverged_at = np.full(K, -1, dtype=np.int64)

    with num_threads(threads), torch.no_grad():
        bar = progress_bar(epochs, show, f"splits K={K}")
        for epoch in bar:
            _, frozen = stack.train_epoch(*_epoch_batches(X, y, one_hot, orders), batch_size)
            idx = stack.alive.numpy()
            gone = np.zeros(len(idx), dtype=bool) if frozen is None else frozen.numpy().copy()
            for split, (chunks, labels) in scored.items():
                loss_k, acc_k = _loss_and_accuracy(stack, chunks, labels)
                out[f"{split}_loss"][idx, epoch] = loss_k
                out[f"{split}_acc"][idx, epoch] = acc_k
                if split == "val" and len(labels):
                    gone |= ~np.isfinite(loss_k)
            if gone.any():  # diverged members leave the computation
                diverged_at[idx[gone]] = epoch
                stack.keep(torch.from_numpy(~gone))
                if len(stack) == 0:
                    break
            if show:
                bar.set_postfix(alive=f"{len(stack)}/{K}", refresh=False)
        bar.close()

    return SplitCurves(
        etas=eta_values, seeds=seed_list, epochs=epochs, batch_size=batch_size,
        steps_per_epoch=math.ceil(n / batch_size), momentum=float(momentum),
        **{c: out[c].reshape(S, E, epochs) for c in CURVES},
        diverged_at=diverged_at.reshape(S, E),
    )
