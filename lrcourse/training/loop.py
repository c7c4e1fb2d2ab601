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

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lrcourse import _checks
from lrcourse._runtime import num_threads, progress_bar, show_progress
from lrcourse.training.metrics import evaluate

__all__ = ["History", "train", "epoch_orders"]


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


def epoch_orders(n: int, seed: int) -> Iterator[torch.Tensor]:
    """The order of the n training samples in epoch 0, 1, 2, …: ``randperm(n)`` drawn from
    one ``torch.Generator`` seeded with ``seed``. ``train`` and ``sweep_lr`` share it, so the
    same seed gives the same batches in both."""
    gen = torch.Generator().manual_seed(int(seed))
    while True:
        yield torch.randperm(n, generator=gen)



# ---------------------------------------------------------------------------------------------
# the loop


def _is_plateau(scheduler) -> bool:
    """torch's ReduceLROnPlateau or ours (which subclasses LRScheduler, not torch's class)."""
    from lrcourse.schedules.lr_scheduler import ReduceLROnPlateau

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
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"Invalid scheduler_step: {scheduler_step!r} ('epoch' or 'batch')")
    seed = _checks.seed(seed)
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
