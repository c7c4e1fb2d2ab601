"""K learning rates trained as one batched computation.

K copies of an MLP keep their parameters stacked, W_l of shape (K, d_out, d_in) and b_l of
shape (K, d_out, 1), so one forward and one backward per mini-batch serve all K models
(``bmm``). Member k follows plain SGD with its own η_k:

    v_k ← β·v_k + ∇L_k(θ_k)        (only when momentum β > 0, torch's convention, v_0 = 0)
    θ_k ← θ_k − η_k·v_k            (θ_k − η_k·∇L_k(θ_k) when β = 0)

with L_k the mean cross-entropy of the batch. The backward pass is written out by hand
(faster than autograd here): with z_l = W_l·a_{l−1} + b_l, a_l = max(z_l, 0), p = softmax(z_L)
and one-hot targets Y, all kept feature-major as (K, d, B),
∂L/∂z_L = (p − Y)/B, ∂L/∂W_l = ∂L/∂z_l·a_{l−1}ᵀ, ∂L/∂b_l = Σ_batch ∂L/∂z_l and
∂L/∂z_{l−1} = (W_lᵀ·∂L/∂z_l) ⊙ [a_{l−1} > 0].

Member k sees exactly what ``train.train(mlp(sizes, seed_k), SGD(lr=η_k, momentum=β), data,
seed=seed_k)`` would see: the same initial θ and the same batch order, so the results agree
with K separate runs (to rounding). A member whose loss turns NaN/inf is marked diverged at
that epoch, takes no step with it, and leaves the computation at the end of the epoch, so
it never poisons the others. With ``seeds=[…]`` every (seed, η) pair is a member, each seed
with its own initialisation and batch order, and the arrays are (n_seeds, n_etas, epochs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lrcourse import _checks
from lrcourse.training.loop import History, epoch_orders
from lrcourse.training.metrics import accuracy, macro_auc
from lrcourse.training.models import mlp
from lrcourse._runtime import num_threads, progress_bar, show_progress

__all__ = ["SweepResult", "sweep_lr"]

METRICS = ("train_loss", "val_loss", "val_acc", "val_auc", "train_auc")
EVAL_BUDGET = 2**18  # elements of one hidden activation buffer during evaluation


@dataclass
class SweepResult:
    """Per-member curves of a sweep. Arrays are (n_etas, epochs), or (n_seeds, n_etas, epochs)
    when the sweep ran over ``seeds``; entries after a member's divergence are NaN."""

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

    @property
    def shape(self) -> tuple[int, ...]:
        """The members' index shape: (n_etas,) or (n_seeds, n_etas)."""
        return self.diverged_at.shape

    def history(self, *index: int) -> History:
        """Member ``index`` (an η index, or a seed index and an η index) as a :class:`History`,
        the same as its own ``train.train`` run would have returned."""
        if len(index) != len(self.shape) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index
        ):
            raise ValueError(f"Invalid member index {index!r} for members of shape {self.shape}")
        index = tuple(int(i) for i in index)
        for i, size in zip(index, self.shape):
            if not -size <= i < size:
                raise ValueError(f"Member index {index} out of range for shape {self.shape}")
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


def _check_etas(etas) -> np.ndarray:
    values = np.asarray(etas, dtype=object).ravel() if np.ndim(etas) <= 1 else None
    if values is None or values.size == 0:
        raise ValueError(f"Invalid learning rates: {etas!r} (need a non-empty 1-D sequence)")
    return np.array([_checks.lr(v) for v in values], dtype=np.float64)


def _check_seeds(seed, seeds) -> tuple[int, ...]:
    chosen = [seed] if seeds is None else list(seeds)
    if not chosen:
        raise ValueError("Invalid seeds: [] (need at least one)")
    for s in chosen:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"Invalid seed: {s!r} (must be a non-negative integer)")
    return tuple(int(s) for s in chosen)


class _Stack:
    """θ of the members still training, stacked: W_l (K, d_out, d_in), b_l (K, d_out, 1), with
    their η (K, 1, 1), momentum buffers v, and which member (``alive``) each row is."""

    def __init__(self, nets, E, eta_values, momentum, dtype):
        S, n_layers = len(nets), len(nets[0]) // 2

        def stacked(i, shape):  # parameter i of every seed's net, repeated for its E rates
            return torch.stack([p[i].reshape(shape(p[i])) for p in nets]).repeat_interleave(E, 0)

        self.Ws = [stacked(2 * l, lambda w: w.shape) for l in range(n_layers)]
        self.bs = [stacked(2 * l + 1, lambda b: (-1, 1)) for l in range(n_layers)]
        self.momentum = momentum
        self.bufs = [torch.zeros_like(t) for t in self.Ws + self.bs] if momentum else None
        self.eta = torch.tensor(eta_values, dtype=dtype).repeat(S).view(-1, 1, 1)
        self.alive = torch.arange(S * E)  # member k = s·E + e
        self.seed_of = self.alive // E  # which seed's batches a row sees
        self.scratch: list[torch.Tensor] = []  # flat buffers for the hidden activations in evaluation

    def __len__(self) -> int:
        return len(self.alive)

    def forward(self, x, scratch=None):
        """Activations a_0 = x, a_1 … a_{L−1} and logits z_L for inputs x (K, d_0, B).
        Feature-major (K, d, B) makes the softmax over few classes and the small ``bmm``s
        several times faster on a CPU than (K, B, d). ``scratch``: output buffers to reuse."""
        acts = [x]
        for l, (W, b) in enumerate(zip(self.Ws, self.bs)):
            if l + 1 == len(self.Ws):
                return acts, torch.baddbmm(b, W, acts[-1])
            out = None
            if scratch is not None:  # a contiguous view of the front of a flat buffer
                shape = (W.shape[0], W.shape[1], x.shape[-1])
                out = scratch[l][: math.prod(shape)].view(shape)
            acts.append(torch.relu_(torch.baddbmm(b, W, acts[-1], out=out)))

    def step(self, xb, yb, hb, frozen):
        """One SGD step on batch (xb (K, d, B), labels yb (K, 1, B), one-hot hb (…, C, B));
        rows in ``frozen`` take none. Returns each row's mean batch loss L (K,)."""
        B = xb.shape[-1]
        acts, logits = self.forward(xb)
        logp = torch.log_softmax(logits, 1)
        loss = -logp.gather(1, yb).mean((1, 2))
        g = logp.exp_().sub_(hb).div_(B)  # ∂L/∂z_L = (p − Y)/B
        n_layers = len(self.Ws)
        grads = [None] * (2 * n_layers)
        for l in range(n_layers - 1, -1, -1):
            grads[l] = torch.bmm(g, acts[l].transpose(1, 2))  # ∂L/∂W_l = ∂L/∂z_l·a_{l−1}ᵀ
            grads[n_layers + l] = g.sum(2, keepdim=True)  # ∂L/∂b_l
            if l:  # ∂L/∂z_{l−1} = W_lᵀ·∂L/∂z_l where a_{l−1} > 0, else 0 (autograd's ReLU rule)
                back = torch.bmm(self.Ws[l].transpose(1, 2), g)
                g = torch.ops.aten.threshold_backward(back, acts[l], 0)
        step = self.eta
        if frozen is not None:  # a frozen row takes no step, and no NaN gets into it
            mask = frozen.view(-1, 1, 1)
            grads = [gr.masked_fill_(mask, 0.0) for gr in grads]
            step = step.masked_fill(mask, 0.0)
        for i, (p, gr) in enumerate(zip(self.Ws + self.bs, grads)):
            if self.bufs is not None:
                gr = self.bufs[i].mul_(self.momentum).add_(gr)  # v ← β·v + ∇L
            p.addcmul_(step, gr, value=-1.0)  # θ ← θ − η·v
        return loss

    def train_epoch(self, Xs, Ys, Hs, batch_size):
        """One epoch of SGD steps on this epoch's batches (see :func:`_epoch_batches`).

        Returns every row's batch losses (rows, n_batches) and the rows whose loss turned
        non-finite (a bool mask, or None): those take no further step this epoch."""
        frozen, losses = None, []
        for start in range(0, Xs.shape[-1], batch_size):
            cut = slice(start, start + batch_size)
            rows = 0 if Xs.shape[0] == 1 else self.seed_of  # one seed: one batch, broadcast to all
            xb = Xs[rows, :, cut].expand(len(self), -1, -1)
            yb = Ys[rows, :, cut].expand(len(self), -1, -1)
            loss = self.step(xb, yb, Hs[rows, :, cut], frozen)
            losses.append(loss)
            finite = torch.isfinite(loss)
            if not bool(finite.all()):
                frozen = ~finite if frozen is None else frozen | ~finite
        return torch.stack(losses, 1), frozen

    def evaluate(self, chunks, y, n_classes, auc_only=False):
        """Per-row (loss, accuracy, macro AUC) on (X, y), float64 numpy (loss and accuracy NaN
        when ``auc_only``); X as contiguous feature-major chunks (d, chunk). The hidden
        activations of every chunk go to the same flat buffers, kept between epochs: with
        K = 64, fresh megabyte-sized tensors per epoch (page faults, cache misses) made the
        evaluation about twice as slow."""
        K = len(self)
        nan = np.full(K, np.nan)
        if len(y) == 0:
            return nan, nan.copy(), nan.copy()
        size = K * max((W.shape[1] for W in self.Ws[:-1]), default=0) * max(x.shape[1] for x in chunks)
        if not self.scratch or self.scratch[0].numel() < size:
            self.scratch = [chunks[0].new_empty(size) for _ in self.Ws[:-1]]
        pieces = [self.forward(x.expand(K, *x.shape), self.scratch)[1] for x in chunks]
        logits = torch.cat(pieces, 2)  # (K, C, n)
        logp = torch.log_softmax(logits, 1)
        auc = macro_auc(logp.exp().transpose(1, 2), y, n_classes).numpy()
        if auc_only:
            return nan, nan.copy(), auc
        loss = -logp.gather(1, y.expand(K, 1, -1)).mean((1, 2))
        return loss.double().numpy(), accuracy(logits, y, dim=1).numpy(), auc

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only ``rows`` (a boolean mask): the others leave the computation."""
        self.Ws = [t[rows] for t in self.Ws]
        self.bs = [t[rows] for t in self.bs]
        if self.bufs is not None:
            self.bufs = [t[rows] for t in self.bufs]
        self.eta, self.alive, self.seed_of = self.eta[rows], self.alive[rows], self.seed_of[rows]


def _epoch_batches(X, y, one_hot, orders):
    """This epoch's data in each seed's batch order, feature-major as ``_Stack`` wants:
    inputs (S, d, n), labels (S, 1, n), one-hot targets (S, C, n)."""
    order = torch.stack([next(o) for o in orders])
    return X[order].transpose(1, 2).contiguous(), y[order][:, None], one_hot[order].transpose(1, 2).contiguous()


def _chunks(X: torch.Tensor, size: int) -> list[torch.Tensor]:
    """X (n, d) as contiguous feature-major pieces (d, ≤ size)."""
    return [X[i : i + size].T.contiguous() for i in range(0, len(X), size)]


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
    progress: bool | str = "auto",
    threads: int | None = 1,
) -> SweepResult:
    """Train one MLP per learning rate in ``etas`` (per (seed, η) pair if ``seeds`` is given)
    on ``data`` as one batched computation; see the module docstring for the update.

    Member (s, e) matches ``train.train(mlp(sizes, seeds[s], dtype), torch.optim.SGD(…,
    lr=etas[e], momentum=momentum), data, epochs=…, batch_size=…, seed=seeds[s])``.
    ``sizes`` defaults to (n_features, 50, n_classes), the seed model on blobs; ``seed`` is
    every member's seed when ``seeds`` is None. ``threads``: torch threads (None: leave it).
    """
    eta_values = _check_etas(etas)
    seed_list = _check_seeds(seed, seeds)
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not math.isfinite(momentum)
        or momentum < 0
    ):
        raise ValueError(f"Invalid momentum value: {momentum}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"Invalid dtype: {dtype!r} (must be a floating torch dtype)")
    show = show_progress(progress)
    C, d0 = int(data.n_classes), int(data.X_train.shape[1])
    sizes = _checks.sizes((d0, 50, C) if sizes is None else sizes)
    if sizes[0] != d0 or sizes[-1] != C:
        raise ValueError(f"Invalid sizes: {sizes} (the data have {d0} features and {C} classes)")

    S, E = len(seed_list), len(eta_values)
    K = S * E
    X, y, y_val = data.X_train.to(dtype), data.y_train, data.y_val
    # evaluate in chunks whose hidden activations (K, width, chunk) stay cache-sized
    chunk = int(np.clip(EVAL_BUDGET // (K * max(sizes[1:-1], default=1)), 16, 512))
    train_chunks, val_chunks = _chunks(X, chunk), _chunks(data.X_val.to(dtype), chunk)
    n = len(y)
    starts = range(0, n, batch_size)
    weights = np.array([min(batch_size, n - start) for start in starts], dtype=np.float64)
    n_batches = len(weights)
    nets = [[p.detach() for p in mlp(sizes, s, dtype).parameters()] for s in seed_list]
    stack = _Stack(nets, E, eta_values, float(momentum), dtype)
    one_hot = F.one_hot(y, C).to(dtype)
    orders = [epoch_orders(n, s) for s in seed_list]

    out = {m: np.full((K, epochs), np.nan) for m in METRICS}
    batch_loss = np.full((K, epochs * n_batches), np.nan)
    diverged_at = np.full(K, -1, dtype=np.int64)
    steps = np.zeros(K, dtype=np.int64)

    with num_threads(threads), torch.no_grad():
        bar = progress_bar(epochs, show, f"sweep K={K}")
        for epoch in bar:
            losses, _ = stack.train_epoch(*_epoch_batches(X, y, one_hot, orders), batch_size)

            # the epoch's record: batch losses up to a divergence, hold-out evaluation
            L = losses.double().numpy()  # (rows, n_batches)
            bad = ~np.isfinite(L)
            first_bad = np.where(bad.any(1), bad.argmax(1), n_batches)
            ran = np.arange(n_batches) <= np.minimum(first_bad, n_batches - 1)[:, None]
            idx = stack.alive.numpy()
            batch_loss[idx, epoch * n_batches : (epoch + 1) * n_batches] = np.where(ran, L, np.nan)
            steps[idx] += ran.sum(1)
            seen = np.where(ran, weights, 0.0)
            out["train_loss"][idx, epoch] = np.where(ran, L * weights, 0.0).sum(1) / seen.sum(1)
            v_loss, v_acc, v_auc = stack.evaluate(val_chunks, y_val, C)
            *_, t_auc = stack.evaluate(train_chunks, y, C, auc_only=True)
            for name, values in zip(METRICS[1:], (v_loss, v_acc, v_auc, t_auc)):
                out[name][idx, epoch] = values
            gone = first_bad < n_batches
            if len(y_val):
                gone |= ~np.isfinite(v_loss)
            if gone.any():  # diverged members leave the computation
                diverged_at[idx[gone]] = epoch
                stack.keep(torch.from_numpy(~gone))
                if len(stack) == 0:
                    break
            if show:
                bar.set_postfix(alive=f"{len(stack)}/{K}", refresh=False)
        bar.close()

    lead = (E,) if seeds is None else (S, E)
    return SweepResult(
        etas=eta_values,
        seeds=None if seeds is None else seed_list,
        epochs=epochs,
        batch_size=batch_size,
        momentum=float(momentum),
        **{m: out[m].reshape(*lead, epochs) for m in METRICS},
        batch_loss=batch_loss.reshape(*lead, -1),
        diverged_at=diverged_at.reshape(lead),
        steps=steps.reshape(lead),
    )
