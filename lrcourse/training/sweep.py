"""K learning rates (and seeds) trained as one batched computation: ``sweep_lr`` and ``sweep_splits``.

Both train the same members on one driver, the batched engine of
:mod:`lrcourse.training.engine` (K MLPs stacked, feature-major, one forward and one backward per
mini-batch for all K). Member k follows plain SGD with its own η_k:

    v_k ← β·v_k + ∇L_k(θ_k)        (only when momentum β > 0, torch's convention, v_0 = 0)
    θ_k ← θ_k − η_k·v_k            (θ_k − η_k·∇L_k(θ_k) when β = 0)

with L_k the mean cross-entropy of the batch. Member k sees exactly what ``train(mlp(sizes,
seed_k), SGD(lr=η_k, momentum=β), data, seed=seed_k)`` would see: the same initial θ and the
same batch order, so the results agree with K separate runs (to rounding). A member whose loss
turns NaN/inf is marked diverged at that epoch, takes no step with it, and leaves the
computation at the end of the epoch, so it never poisons the others; so does one whose
hold-out loss is non-finite. With ``seeds=[…]`` every (seed, η) pair is a member, each seed
with its own initialisation and batch order, and the arrays are (n_seeds, n_etas, epochs).

What is scored after an epoch differs: ``sweep_lr`` records what ``train`` records (mean batch
loss; hold-out loss, accuracy and AUC; training AUC), ``sweep_splits`` the loss and accuracy of
θ on the train, hold-out and test splits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from lrcourse import _checks
from lrcourse._runtime import num_threads, progress_bar, show_progress
from lrcourse.training.engine import StackedMLP, chunk_size, chunks, epoch_batches
from lrcourse.training.loop import History, epoch_orders
from lrcourse.training.models import mlp

__all__ = ["SweepResult", "sweep_lr", "SplitCurves", "sweep_splits"]

METRICS = ("train_loss", "val_loss", "val_acc", "val_auc", "train_auc")
SPLITS = ("train", "val", "test")
CURVES = tuple(f"{split}_{metric}" for split in SPLITS for metric in ("loss", "acc"))


@dataclass
class SweepResult:
    """Per-member curves of a sweep. Arrays are (n_etas, epochs), or (n_seeds, n_etas, epochs)
    when the sweep ran over ``seeds``; entries after a member's divergence are NaN.

    With ``eval_every`` = m > 1 the hold-out metrics and ``train_auc`` were computed only after
    the epochs marked in ``evaluated`` (every m-th, the last one, and any epoch in which a
    member diverged); at the other epochs they are NaN, which then means "not evaluated", not
    "diverged" (``diverged_at`` says that). ``train_loss`` and ``batch_loss`` are complete."""

    etas: np.ndarray  # (n_etas,)
    seeds: tuple[int, ...] | None  # None: one seed, no seed axis
    epochs: int
    batch_size: int
    momentum: float
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    val_auc: np.ndarray
    train_auc: np.ndarray
    batch_loss: np.ndarray  # (..., epochs · batches per epoch)
    diverged_at: np.ndarray  # (...) int: epoch of divergence, −1 where the member never diverged
    steps: np.ndarray  # (...) int: how many batch losses the member recorded
    eval_every: int = 1
    evaluated: np.ndarray | None = None  # (epochs,) bool: the epochs whose evaluation ran

    @property
    def shape(self) -> tuple[int, ...]:
        """The members' index shape: (n_etas,) or (n_seeds, n_etas)."""
        return self.diverged_at.shape

    def history(self, *index: int) -> History:
        """Member ``index`` (an η index, or a seed index and an η index) as a :class:`History`,
        the same as its own ``train`` run would have returned (with ``eval_every`` > 1: NaN
        hold-out metrics at the epochs that were not evaluated)."""
        if len(index) != len(self.shape) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index
        ):
            raise ValueError(f"Invalid member index {index!r} for members of shape {self.shape}")
        index = tuple(int(i) for i in index)
        for i, size in zip(index, self.shape):
            if not -size <= i < size:
                raise ValueError(f"Invalid member index {index} (out of range for shape {self.shape})")
        d = int(self.diverged_at[index])
        n = self.epochs if d < 0 else d + 1
        curves = {m: getattr(self, m)[index][:n].tolist() for m in METRICS}
        return History(
            **curves,
            lr=[float(self.etas[index[-1]])] * n,
            batch_loss=self.batch_loss[index][: int(self.steps[index])].tolist(),
            diverged_at=None if d < 0 else d,
        )

    def to_frame(self):
        """Long format, one row per (seed, η, epoch) up to each member's last epoch:
        columns seed, eta, epoch, train_loss, val_loss, val_acc, val_auc, train_auc, diverged."""
        import pandas as pd

        seeds = self.seeds if self.seeds is not None else (None,)
        rows = []
        for s_i, s in enumerate(seeds):
            for e_i, eta in enumerate(self.etas):
                index = (e_i,) if self.seeds is None else (s_i, e_i)
                frame = self.history(*index).to_frame().drop(columns="lr")
                frame.insert(0, "eta", float(eta))
                frame.insert(0, "seed", s)
                frame["diverged"] = self.diverged_at[index] >= 0
                rows.append(frame)
        return pd.concat(rows, ignore_index=True)


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
# the driver shared by sweep_lr and sweep_splits


@dataclass
class _Setup:
    etas: np.ndarray
    seeds: tuple[int, ...]
    sizes: tuple[int, ...]
    epochs: int
    batch_size: int
    momentum: float
    dtype: torch.dtype
    show: bool


def _check(etas, data, *, seeds, sizes, epochs, batch_size, momentum, dtype, progress) -> _Setup:
    eta_values = _checks.etas(etas)
    seed_list = _checks.seeds(seeds)
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    momentum = _checks.lr(momentum, "momentum value")  # torch's contract: a finite number ≥ 0
    dtype = _checks.float_dtype(dtype)
    show = show_progress(progress)
    C, d0 = int(data.n_classes), int(data.X_train.shape[1])
    sizes = _checks.sizes((d0, 50, C) if sizes is None else sizes)
    if sizes[0] != d0 or sizes[-1] != C:
        raise ValueError(f"Invalid sizes: {sizes} (the data have {d0} features and {C} classes)")
    return _Setup(eta_values, seed_list, sizes, epochs, batch_size, momentum, dtype, show)


def _drive(setup: _Setup, data, *, threads, desc: str,
           score: Callable[[int, StackedMLP, np.ndarray, np.ndarray], np.ndarray | None]) -> dict:
    """Train every (seed, η) member with SGD, one batched computation, for ``setup.epochs``.

    After each epoch ``score(epoch, stack, rows, diverging)`` records what it wants about the
    members still in the computation (``rows``: their member indices; ``diverging``: which of
    them had a non-finite batch loss this epoch) and returns the rows whose hold-out loss is
    non-finite (or None). Returns the mean batch loss per epoch, every batch loss, how many
    each member recorded, and the epoch of divergence (−1: never), all per member k = s·E + e.
    """
    S, E, epochs = len(setup.seeds), len(setup.etas), setup.epochs
    K = S * E
    X, y = data.X_train.to(setup.dtype), data.y_train
    n, C = len(y), int(data.n_classes)
    weights = np.array([min(setup.batch_size, n - start) for start in range(0, n, setup.batch_size)],
                       dtype=np.float64)
    n_batches = len(weights)
    nets = [list(mlp(setup.sizes, s, setup.dtype).parameters()) for s in setup.seeds]
    stack = StackedMLP.from_nets(nets, E, etas=setup.etas, momentum=setup.momentum, dtype=setup.dtype)
    one_hot = F.one_hot(y, C).to(setup.dtype)
    orders = [epoch_orders(n, s) for s in setup.seeds]

    train_loss = np.full((K, epochs), np.nan)
    batch_loss = np.full((K, epochs * n_batches), np.nan)
    diverged_at = np.full(K, -1, dtype=np.int64)
    steps = np.zeros(K, dtype=np.int64)
    with num_threads(threads), torch.no_grad():
        bar = progress_bar(epochs, setup.show, f"{desc} K={K}")
        for epoch in bar:
            losses, _ = stack.train_epoch(*epoch_batches(X, y, one_hot, orders), setup.batch_size)
            # the epoch's record: batch losses up to a divergence
            L = losses.double().numpy()  # (rows, n_batches)
            bad = ~np.isfinite(L)
            first_bad = np.where(bad.any(1), bad.argmax(1), n_batches)
            ran = np.arange(n_batches) <= np.minimum(first_bad, n_batches - 1)[:, None]
            idx = stack.alive.numpy()
            batch_loss[idx, epoch * n_batches : (epoch + 1) * n_batches] = np.where(ran, L, np.nan)
            steps[idx] += ran.sum(1)
            seen = np.where(ran, weights, 0.0)
            train_loss[idx, epoch] = np.where(ran, L * weights, 0.0).sum(1) / seen.sum(1)
            gone = first_bad < n_batches
            bad_holdout = score(epoch, stack, idx, gone)
            if bad_holdout is not None:
                gone = gone | bad_holdout
            if gone.any():  # diverged members leave the computation
                diverged_at[idx[gone]] = epoch
                stack.keep(torch.from_numpy(~gone))
                if len(stack) == 0:
                    break
            if setup.show:
                bar.set_postfix(alive=f"{len(stack)}/{K}", refresh=False)
        bar.close()
    return {"train_loss": train_loss, "batch_loss": batch_loss, "steps": steps, "diverged_at": diverged_at}


# ---------------------------------------------------------------------------------------------
# sweep_lr: what train() records


def sweep_lr(
    etas,
    data,
    *,
    sizes=None,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    seeds=None,
    momentum: float = 0.0,
    dtype: torch.dtype = torch.float32,
    eval_every: int = 1,
    progress: bool | str = "auto",
    threads: int | None = 1,
) -> SweepResult:
    """Train one MLP per learning rate in ``etas`` (per (seed, η) pair if ``seeds`` is given)
    on ``data`` as one batched computation; see the module docstring for the update.

    Member (s, e) matches ``train(mlp(sizes, seeds[s], dtype), torch.optim.SGD(…,
    lr=etas[e], momentum=momentum), data, epochs=…, batch_size=…, seed=seeds[s])``.
    ``sizes`` defaults to (n_features, 50, n_classes), the seed model on blobs; ``seed`` is
    every member's seed when ``seeds`` is None. ``eval_every`` = m: score the hold-out split
    and the training AUC only after every m-th epoch, the last one, and any epoch in which a
    member diverged (NaN elsewhere; see :class:`SweepResult`) — the evaluation of K models on
    both splits costs about as much as an epoch of training. A member whose hold-out loss
    turns non-finite in an epoch that is not evaluated is marked diverged when its next batch
    loss is non-finite (usually the next epoch). ``threads``: torch threads (None: leave it).
    """
    seed = _checks.seed(seed)
    setup = _check(etas, data, seeds=[seed] if seeds is None else seeds, sizes=sizes, epochs=epochs,
                   batch_size=batch_size, momentum=momentum, dtype=dtype, progress=progress)
    eval_every = _checks.positive_int(eval_every, "eval_every")
    S, E, epochs = len(setup.seeds), len(setup.etas), setup.epochs
    K = S * E
    C = int(data.n_classes)
    y, y_val = data.y_train, data.y_val
    size = chunk_size(K, setup.sizes)
    train_chunks = chunks(data.X_train.to(setup.dtype), size)
    val_chunks = chunks(data.X_val.to(setup.dtype), size)
    out = {m: np.full((K, epochs), np.nan) for m in METRICS[1:]}
    evaluated = np.zeros(epochs, dtype=bool)

    def score(epoch, stack, idx, diverging):
        if (epoch + 1) % eval_every and epoch + 1 < epochs and not diverging.any():
            return None
        evaluated[epoch] = True
        v_loss, v_acc, v_auc = stack.evaluate(val_chunks, y_val, C)
        *_, t_auc = stack.evaluate(train_chunks, y, C, loss=False, acc=False)
        for name, values in zip(METRICS[1:], (v_loss, v_acc, v_auc, t_auc)):
            out[name][idx, epoch] = values
        return ~np.isfinite(v_loss) if len(y_val) else None

    run = _drive(setup, data, threads=threads, desc="sweep", score=score)
    lead = (E,) if seeds is None else (S, E)
    curves = {"train_loss": run["train_loss"], **out}
    return SweepResult(
        etas=setup.etas,
        seeds=None if seeds is None else setup.seeds,
        epochs=epochs,
        batch_size=setup.batch_size,
        momentum=setup.momentum,
        **{m: curves[m].reshape(*lead, epochs) for m in METRICS},
        batch_loss=run["batch_loss"].reshape(*lead, -1),
        diverged_at=run["diverged_at"].reshape(lead),
        steps=run["steps"].reshape(lead),
        eval_every=eval_every,
        evaluated=evaluated,
    )


# ---------------------------------------------------------------------------------------------
# sweep_splits: loss and accuracy on three splits


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
    setup = _check(etas, data, seeds=seeds, sizes=sizes, epochs=epochs, batch_size=batch_size,
                   momentum=momentum, dtype=dtype, progress=progress)
    S, E, epochs = len(setup.seeds), len(setup.etas), setup.epochs
    K = S * E
    size = chunk_size(K, setup.sizes)
    scored = {split: (chunks(getattr(data, f"X_{split}").to(setup.dtype), size), getattr(data, f"y_{split}"))
              for split in SPLITS}
    out = {c: np.full((K, epochs), np.nan) for c in CURVES}

    def score(epoch, stack, idx, diverging):
        bad = None
        for split, (pieces, labels) in scored.items():
            loss_k, acc_k, _ = stack.evaluate(pieces, labels, int(data.n_classes), auc=False)
            out[f"{split}_loss"][idx, epoch] = loss_k
            out[f"{split}_acc"][idx, epoch] = acc_k
            if split == "val" and len(labels):
                bad = ~np.isfinite(loss_k)
        return bad

    run = _drive(setup, data, threads=threads, desc="splits", score=score)
    return SplitCurves(
        etas=setup.etas, seeds=setup.seeds, epochs=epochs, batch_size=setup.batch_size,
        steps_per_epoch=math.ceil(len(data.y_train) / setup.batch_size), momentum=setup.momentum,
        **{c: out[c].reshape(S, E, epochs) for c in CURVES},
        diverged_at=run["diverged_at"].reshape(S, E),
    )
