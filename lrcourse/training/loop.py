"""One training loop, returning a :class:`History`.

Each epoch visits the training set in a fresh order drawn from a seeded ``torch.Generator``,
in mini-batches sliced from pre-made tensors (no ``DataLoader``: for small in-memory data it
is about twice as slow). Every step is θ ← optimizer(θ, ∇L_B(θ)) with L_B the mean loss of
the batch; after each epoch the hold-out set is evaluated.

A run whose loss becomes NaN or ±inf has diverged: that is a result, not an error. The loop
records the offending batch loss, takes no step with it, evaluates the epoch as usual, sets
``History.diverged_at`` to that epoch and stops. An epoch whose hold-out loss is non-finite
(θ overflowed on the last step) counts as diverged too.
"""
from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["History", "train", "mlp", "macro_auc", "accuracy", "epoch_orders", "evaluate", "num_threads"]


@dataclass
class History:
    """What one training run did, epoch by epoch (after divergence the lists simply stop)."""

    train_loss: list[float] = field(default_factory=list)  # mean training loss per epoch
    val_loss: list[float] = field(default_factory=list)  # hold-out loss per epoch
    val_acc: list[float] = field(default_factory=list)  # hold-out accuracy per epoch
    val_auc: list[float] = field(default_factory=list)  # hold-out macro one-vs-rest ROC AUC
    train_auc: list[float] = field(default_factory=list)  # same on the training set
    lr: list[float] = field(default_factory=list)  # η of param group 0 during each epoch
    batch_loss: list[float] = field(default_factory=list)  # every mini-batch loss, in order
    diverged_at: int | None = None  # epoch (0-based) where a loss became NaN/inf, else None

    def to_frame(self):
        """One row per epoch: epoch, train_loss, val_loss, val_acc, val_auc, train_auc, lr."""
        import pandas as pd

        columns = ("train_loss", "val_loss", "val_acc", "val_auc", "train_auc", "lr")
        frame = pd.DataFrame({c: pd.Series(getattr(self, c), dtype=float) for c in columns})
        frame.insert(0, "epoch", np.arange(len(frame)))
        return frame


# ---------------------------------------------------------------------------------------------
# building blocks shared with the batched sweep


def mlp(sizes=(2, 50, 3), seed: int = 0, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """Linear → ReLU → … → Linear with layer widths ``sizes`` (the seed model: 2 → 50 ReLU → 3).

    The weights are torch's default ``nn.Linear`` initialisation drawn after
    ``torch.manual_seed(seed)``, inside a forked RNG so the caller's global state is untouched.
    """
    sizes = check_sizes(sizes)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Invalid seed: {seed!r} (must be a non-negative integer)")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"Invalid dtype: {dtype!r} (must be a floating torch dtype)")
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(d_in, d_out, dtype=dtype))
    return nn.Sequential(*layers)


def check_sizes(sizes) -> tuple[int, ...]:
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(f"Invalid sizes: {sizes!r} (need a sequence of layer widths)") from None
    if len(sizes) < 2 or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes
    ):
        raise ValueError(f"Invalid sizes: {sizes!r} (need ≥ 2 positive integer layer widths)")
    return tuple(int(s) for s in sizes)


def epoch_orders(n: int, seed: int) -> Iterator[torch.Tensor]:
    """The order of the n training samples in epoch 0, 1, 2, …: ``randperm(n)`` drawn from
    one ``torch.Generator`` seeded with ``seed``. ``train`` and ``sweep_lr`` share it, so the
    same seed gives the same batches in both."""
    gen = torch.Generator().manual_seed(int(seed))
    while True:
        yield torch.randperm(n, generator=gen)


def macro_auc(scores: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Macro one-vs-rest ROC AUC of ``scores`` (..., n, C) against labels ``y`` (n,).

    Per class c, with P the samples of class c (n_c of them) and N the others:
        AUC_c = (1 / (n_c (n − n_c))) Σ_{i∈P} ( #{j∈N: s_jc < s_ic} + ½ #{j∈N: s_jc = s_ic} ),
    the Mann–Whitney form of the area under the ROC curve; the result is the mean over c.
    This is what ``sklearn.metrics.roc_auc_score(y, scores, multi_class="ovr")`` computes
    (for C = 2: the AUC of the class-1 score), vectorised over the leading dimensions so a
    sweep scores K models at once. NaN where a model's scores are non-finite or a class is
    absent. Returns a float64 tensor of shape (...).
    """
    s = scores.detach().cpu()
    lead, n = s.shape[:-2], s.shape[-2]
    if n_classes == 2:
        s, positive = s[..., 1:], (y == 1).view(1, n)  # (..., n, 1), (1, n)
    else:
        positive = F.one_hot(y, n_classes).T.bool()  # (C, n)
    if s.dtype not in (torch.float32, torch.float64):
        s = s.float()
    a = s.transpose(-1, -2).reshape(-1, n).numpy()  # (R, n)
    positive = positive.numpy()
    per_model = positive.shape[0]  # rows of a per model: C (or 1 for C = 2)
    lab = np.tile(positive.astype(np.uint8), (a.shape[0] // per_model, 1))
    n_pos = np.tile(positive.sum(-1, dtype=np.float64), a.shape[0] // per_model)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = _wilcoxon_u(a, lab, n_pos) / (n_pos * (n - n_pos))  # 0/0 → NaN: class absent
        auc = auc.reshape(-1, per_model).mean(-1)
    every = a if n_classes > 2 else scores.detach().cpu().numpy()  # all of each model's scores
    finite = np.isfinite(every).reshape(auc.shape[0], -1).all(-1)
    return torch.from_numpy(np.where(finite, auc, np.nan).reshape(lead))


def _wilcoxon_u(a: np.ndarray, lab: np.ndarray, n_pos: np.ndarray) -> np.ndarray:
    """U = Σ_{i positive} r_i − n_pos(n_pos + 1)/2 per row of scores a (R, n), with r the
    1-based average rank of each score in its row (a tie shares the mean of its positions).

    Each score becomes an order-preserving unsigned integer with its 0/1 label in the lowest
    bit, so one fast integer sort per row carries the labels along: non-negative float32
    scores (probabilities) fit in 32 bits, signed float32 and non-negative float64 in 64.
    Float64 scores with a negative value do not fit: those go to scipy.stats.rankdata.
    Shifting left drops the sign bit of −0.0, so −0.0 and +0.0 tie, as they should.
    """
    nonneg = not (a < 0).any()  # (NaN rows give NaN anyway)
    if a.dtype == np.float32 and nonneg:
        key = a.view(np.uint32) << np.uint32(1)
    elif a.dtype == np.float32:  # flip bits so that unsigned order is numeric order
        bits = (a + np.float32(0.0)).view(np.uint32)  # + 0 turns −0.0 into +0.0
        bits = bits ^ np.where(bits >> 31, np.uint32(0xFFFFFFFF), np.uint32(0x80000000))
        key = bits.astype(np.uint64) << np.uint64(1)
    elif nonneg:
        key = a.view(np.uint64) << np.uint64(1)
    else:
        from scipy.stats import rankdata

        return (rankdata(a, axis=-1) * lab).sum(-1) - n_pos * (n_pos + 1) / 2
    key |= lab.astype(key.dtype)
    key.sort(axis=-1)
    one = key.dtype.type(1)
    pos = (key & one).astype(np.uint8).astype(np.float64)  # (via uint8: faster)
    key >>= one  # the sorted scores' keys
    R, n = key.shape
    rank_sum = pos @ np.arange(1, n + 1, dtype=np.float64)
    tied = key[:, 1:] == key[:, :-1]  # position j + 1 holds the same score as position j
    if tied.any():
        # a run of equal scores at positions s … e (0-based) shares the rank (s + e)/2 + 1,
        # so each positive at position p in it gains (s + e)/2 − p. Runs are few: work on
        # flat indices of their elements only (the row offset cancels in (s + e)/2 − p).
        left = np.pad(tied, ((0, 0), (1, 0))).ravel()  # equal to the previous position
        right = np.pad(tied, ((0, 0), (0, 1))).ravel()  # equal to the next position
        members = np.flatnonzero(left | right)
        starts = ~left[members]
        run = np.cumsum(starts) - 1
        middle = (members[starts] + members[~right[members]]) / 2
        gain = pos.ravel()[members] * (middle[run] - members)
        rank_sum += np.bincount(members // n, gain, minlength=R)
    return rank_sum - n_pos * (n_pos + 1) / 2


def accuracy(scores: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Fraction of samples whose label y is the argmax of the scores along ``dim``, averaged
    over the last remaining axis: scores (n, C) → a scalar; (K, C, n) with dim=1 → (K,).
    Uses ``max(dim).indices`` (the same first-maximum rule, NaN counting as the maximum):
    over a short class axis that is not the last it is ~30× faster than ``argmax``."""
    return (scores.detach().max(dim).indices == y).to(torch.float64).mean(-1)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, n_classes: int,
             loss_fn: Callable = F.cross_entropy):
    """(loss, accuracy, macro AUC) of ``model`` on (X, y), in eval mode, as Python floats."""
    if len(y) == 0:
        return math.nan, math.nan, math.nan
    was_training = model.training
    model.eval()
    try:
        out = model(X)
    finally:
        model.train(was_training)
    loss = float(loss_fn(out, y))
    acc = float(accuracy(out, y))
    auc = float(macro_auc(torch.log_softmax(out, -1).exp(), y, n_classes))  # p as the sweep computes it
    return loss, acc, auc


@contextlib.contextmanager
def num_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)`` (restored after); None leaves it alone.
    One thread is fastest for models of this size (FACTS.md)."""
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"Invalid number of threads: {n!r}")
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def show_progress(progress) -> bool:
    """True/False as given; "auto" → only when stderr is a terminal. In a notebook "auto" shows
    nothing (a book build would otherwise embed a dead widget per call): pass True there."""
    if progress is True or progress is False:
        return progress
    if progress != "auto":
        raise ValueError(f"Invalid progress: {progress!r} (True, False or 'auto')")
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def progress_bar(epochs: int, show: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(range(epochs), desc=desc, disable=not show, leave=False)


def check_run_args(epochs, batch_size):
    for label, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Invalid {label}: {value!r} (must be a positive integer)")
    return int(epochs), int(batch_size)


# ---------------------------------------------------------------------------------------------
# the loop


def _is_plateau(scheduler) -> bool:
    """torch's ReduceLROnPlateau or ours (which subclasses LRScheduler, not torch's class)."""
    from .schedules import ReduceLROnPlateau

    return isinstance(scheduler, (torch.optim.lr_scheduler.ReduceLROnPlateau, ReduceLROnPlateau))


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data,
    *,
    epochs: int,
    batch_size: int,
    scheduler=None,
    scheduler_step: str = "epoch",
    loss_fn: Callable = F.cross_entropy,
    seed: int = 0,
    progress: bool | str = "auto",
    threads: int | None = 1,
) -> History:
    """Train ``model`` on ``data`` (a :class:`lrcourse.data.Dataset`) for ``epochs`` epochs.

    Per batch B: L_B = loss_fn(model(X_B), y_B); ∇L_B by autograd; ``optimizer.step()``;
    then ``scheduler.step()`` if ``scheduler_step == "batch"``. After each epoch: the hold-out
    set is evaluated and, if ``scheduler_step == "epoch"``, the scheduler steps
    (``ReduceLROnPlateau`` is given the hold-out loss). ``seed`` fixes the batch order;
    ``threads`` sets torch's thread count for the run (None: leave it).
    """
    epochs, batch_size = check_run_args(epochs, batch_size)
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"Invalid scheduler_step: {scheduler_step!r} ('epoch' or 'batch')")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Invalid seed: {seed!r} (must be a non-negative integer)")
    show = show_progress(progress)
    X, y = data.X_train, data.y_train
    param = next(model.parameters(), None)
    if param is not None and param.dtype != X.dtype:
        raise ValueError(
            f"Model parameters are {param.dtype} but the data are {X.dtype}: "
            "build both with the same dtype= (e.g. mlp(..., dtype=...), data.blobs(dtype=...))"
        )
    plateau = _is_plateau(scheduler)
    n = len(y)
    hist = History()
    orders = epoch_orders(n, seed)
    with num_threads(threads):
        bar = progress_bar(epochs, show, "train")
        for epoch in bar:
            hist.lr.append(float(optimizer.param_groups[0]["lr"]))
            order = next(orders)
            Xs, ys = X[order], y[order]
            model.train()
            total, seen, diverged = 0.0, 0, False
            for start in range(0, n, batch_size):
                xb, yb = Xs[start : start + batch_size], ys[start : start + batch_size]
                loss = loss_fn(model(xb), yb)
                value = loss.item()
                hist.batch_loss.append(value)
                total += value * len(yb)
                seen += len(yb)
                if not math.isfinite(value):
                    diverged = True  # take no step with a non-finite loss
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None and scheduler_step == "batch":
                    scheduler.step()
            hist.train_loss.append(total / seen)
            val_loss, val_acc, val_auc = evaluate(model, data.X_val, data.y_val, data.n_classes, loss_fn)
            *_, train_auc = evaluate(model, X, y, data.n_classes, loss_fn)
            hist.val_loss.append(val_loss)
            hist.val_acc.append(val_acc)
            hist.val_auc.append(val_auc)
            hist.train_auc.append(train_auc)
            if diverged or (len(data.y_val) and not math.isfinite(val_loss)):
                hist.diverged_at = epoch
                break
            if scheduler is not None and scheduler_step == "epoch":
                if plateau:
                    scheduler.step(val_loss)
                else:
                    scheduler.step()
            if show:
                bar.set_postfix(loss=f"{total / seen:.4g}", val=f"{val_loss:.4g}", refresh=False)
        bar.close()
    return hist
