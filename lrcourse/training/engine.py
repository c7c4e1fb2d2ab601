"""K MLPs trained as one computation: the batched engine behind every sweep.

K copies of an MLP keep their parameters stacked, W_l of shape (K, d_out, d_in) and b_l of
shape (K, d_out, 1), and every activation is kept **feature-major**, a_l of shape (K, d_l, B):

    z_l = W_l·a_{l−1} + b_l,    a_l = max(z_l, 0) (or tanh),    logits z_L.

Feature-major makes the softmax over a few classes and the small ``bmm``s several times
faster on a CPU than the batch-major (K, B, d) layout. Where the K members read the same
inputs (one seed's batch, or an evaluation split), the first layer is one matrix product
(K·d_1, d_0 + 1)·(d_0 + 1, B) instead of K small ones, with b_1 folded into W_1 and a row of
ones into x; members of different seeds read their own seed's batch, one product per seed.

The backward pass of the mean cross-entropy L_k of each member's batch is written out by
hand (faster than autograd here; p = softmax(z_L), one-hot targets Y):

    ∂L/∂z_L = (p − Y)/B,   ∂L/∂W_l = ∂L/∂z_l·a_{l−1}ᵀ,   ∂L/∂b_l = Σ_batch ∂L/∂z_l,
    ∂L/∂z_{l−1} = (W_lᵀ·∂L/∂z_l) ⊙ [a_{l−1} > 0]          (autograd's ReLU rule).

Used by :func:`lrcourse.training.sweep.sweep_lr` and ``sweep_splits`` (plain SGD, with
:meth:`StackedMLP.sgd_step`), :func:`lrcourse.training.optim_sweep.sweep_optimizer` (any
optimizer, through ``UnitStep``) and :func:`lrcourse.choosing.hessian.track_sharpness`
(:func:`forward` and :func:`member_losses` under autograd, for Hessian-vector products).
Each of them has oracle tests: every member equals its own ordinary run.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from lrcourse._runtime import num_threads, progress_bar
from lrcourse.training.loop import epoch_orders
from lrcourse.training.metrics import accuracy, macro_auc

__all__ = ["StackedMLP", "forward", "member_losses", "with_ones", "epoch_batches", "chunks",
           "chunk_size", "train_members", "ACTIVATIONS", "EVAL_BUDGET"]

ACTIVATIONS = ("relu", "tanh")
EVAL_BUDGET = 2**18  # elements of one hidden activation buffer during evaluation


def _activate(z: torch.Tensor, activation: str) -> torch.Tensor:
    if z.requires_grad:  # under autograd (Hessian-vector products): no in-place op
        return torch.relu(z) if activation == "relu" else torch.tanh(z)
    return z.relu_() if activation == "relu" else z.tanh_()


def forward(Ws, bs, x, *, activation: str = "relu", keep: bool = False):
    """Logits (K, C, n) of K stacked MLPs (Ws[l] (K, d_out, d_in), bs[l] (K, d_out, 1)) on
    inputs x (d_0, n) that every member reads. Differentiable when the parameters require
    grad (no in-place op then): :func:`lrcourse.choosing.hessian.track_sharpness` takes
    Hessian-vector products through it. ``keep``: also return the activations a_0 … a_{L−1}."""
    K = Ws[0].shape[0]
    z = torch.baddbmm(bs[0], Ws[0], x.expand(K, *x.shape))
    return _upper_layers(Ws, bs, z, [x], activation, None, keep)


def _upper_layers(Ws, bs, z, acts, activation, scratch, keep):
    """From z_1 on: a_l = act(z_l), z_{l+1} = W_{l+1}·a_l + b_{l+1}, …, up to the logits z_L."""
    for l in range(1, len(Ws)):
        a = _activate(z, activation)
        acts.append(a)
        W, b = Ws[l], bs[l]
        out = None
        if scratch is not None and l + 1 < len(Ws):  # a contiguous view of the front of a flat buffer
            shape = (W.shape[0], W.shape[1], a.shape[-1])
            out = scratch[l][: math.prod(shape)].view(shape)
        z = torch.baddbmm(b, W, a, out=out) if out is not None else torch.baddbmm(b, W, a)
    return (z, acts) if keep else z


def member_losses(logits: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy") -> torch.Tensor:
    """Each member's mean loss (K,) over the n columns of ``logits`` (K, C, n), labels y (n,):
    ``"cross_entropy"``, or ``"mse"``, (1/2n)·Σ_i ‖z_i − e_{y_i}‖² against one-hot targets."""
    K, C, n = logits.shape
    if loss == "mse":
        target = torch.nn.functional.one_hot(y, C).T.to(logits.dtype)
        return 0.5 * ((logits - target) ** 2).sum((1, 2)) / n
    logp = torch.log_softmax(logits, 1)
    return -logp.gather(1, y.view(1, 1, n).expand(K, 1, n)).sum((1, 2)) / n


class StackedMLP:
    """θ of the members still training, stacked, with which member each row is (``alive``),
    which seed's batches it reads (``seed_of``) and, for :meth:`sgd_step`, its η (K, 1, 1)
    and momentum buffers.

    The first layer is kept as one tensor [W_1 | b_1] of shape (K, d_1, d_0 + 1), and the
    inputs carry a row of ones (see :func:`with_ones`): then z_1 = [W_1 | b_1]·[x; 1] is one
    matrix product over all members that read x, and its gradient ∂L/∂z_1·[x; 1]ᵀ gives
    ∂L/∂W_1 and ∂L/∂b_1 together. ``Ws`` and ``bs`` are the usual per-layer views
    (W_l (K, d_out, d_in), b_l (K, d_out, 1)); ``tensors`` are what a step moves,
    [[W_1 | b_1], W_2 … W_L, b_2 … b_L], in the order of :meth:`loss_and_grads`'s gradients.

    Build it with :meth:`from_nets` from one parameter list per seed (``[W_1, b_1, W_2, …]``
    as ``mlp(sizes, seed).parameters()`` gives them), each repeated for ``repeats`` rates:
    member k = s·repeats + e.
    """

    def __init__(self, Ws, bs, *, seed_of=None, eta=None, momentum: float = 0.0):
        self.tensors = [torch.cat([Ws[0], bs[0]], 2)] + list(Ws[1:]) + list(bs[1:])
        K = self.tensors[0].shape[0]
        self.alive = torch.arange(K)
        self.seed_of = torch.zeros(K, dtype=torch.long) if seed_of is None else seed_of
        self.eta = eta
        self.momentum = float(momentum)
        self.bufs = [torch.zeros_like(t) for t in self.tensors] if momentum else None
        self.scratch: list[torch.Tensor] = []  # flat buffers for hidden activations in evaluation
        self._groups()

    @classmethod
    def from_nets(cls, nets, repeats: int, *, etas=None, momentum: float = 0.0, dtype=None):
        """Stack ``nets`` (one ``[W_1, b_1, …]`` list per seed), each repeated ``repeats`` times;
        ``etas`` (repeats,): member (s, e) gets η_e for :meth:`sgd_step`."""
        n_layers = len(nets[0]) // 2

        def stacked(i, shape):
            return torch.stack([p[i].detach().reshape(shape(p[i])) for p in nets]).repeat_interleave(repeats, 0)

        Ws = [stacked(2 * l, lambda w: w.shape) for l in range(n_layers)]
        bs = [stacked(2 * l + 1, lambda b: (-1, 1)) for l in range(n_layers)]
        dtype = Ws[0].dtype if dtype is None else dtype
        eta = None if etas is None else torch.tensor(np.asarray(etas), dtype=dtype).repeat(len(nets)).view(-1, 1, 1)
        seed_of = torch.arange(len(nets)).repeat_interleave(repeats)
        return cls(Ws, bs, seed_of=seed_of, eta=eta, momentum=momentum)

    def __len__(self) -> int:
        return len(self.alive)

    @property
    def n_layers(self) -> int:
        return (len(self.tensors) + 1) // 2

    @property
    def Ws(self) -> list[torch.Tensor]:
        """W_1 … W_L (W_1 a view into [W_1 | b_1])."""
        return [self.tensors[0][:, :, :-1]] + self.tensors[1 : self.n_layers]

    @property
    def bs(self) -> list[torch.Tensor]:
        """b_1 … b_L, each (K, d_out, 1) (b_1 a view into [W_1 | b_1])."""
        return [self.tensors[0][:, :, -1:]] + self.tensors[self.n_layers :]

    def _groups(self) -> None:
        """Runs of consecutive rows that read the same seed's inputs."""
        seeds, counts = torch.unique_consecutive(self.seed_of, return_counts=True)
        ends = counts.cumsum(0).tolist()
        self.groups = [(int(s), e - int(c), e) for s, c, e in zip(seeds, counts, ends)]

    def forward(self, x1, scratch=None, keep=False):
        """Logits (K, C, B) for inputs with a row of ones, x1 = [x; 1]: (d_0 + 1, B) read by
        every member, or (S, d_0 + 1, B), one per seed (rows read their seed's). ``scratch``:
        flat buffers for the hidden activations, reused between calls. ``keep``: also return
        the activations [x1, a_1, …, a_{L−1}] (for the backward pass)."""
        if x1.dim() == 3 and x1.shape[0] == 1:
            x1 = x1[0]
        T = self.tensors[0]
        K, d_out, d_in = T.shape
        B = x1.shape[-1]
        if scratch is not None and self.n_layers > 1:
            out = scratch[0][: K * d_out * B].view(K, d_out, B)
        else:
            out = x1.new_empty(K, d_out, B)
        if x1.dim() == 2:  # one (K·d_1, d_0 + 1)·(d_0 + 1, B) product for every member
            torch.mm(T.view(K * d_out, d_in), x1, out=out.view(K * d_out, B))
        else:
            for s, lo, hi in self.groups:
                n = (hi - lo) * d_out
                torch.mm(T[lo:hi].view(n, d_in), x1[s], out=out[lo:hi].view(n, B))
        return _upper_layers(self.Ws, self.bs, out, [x1], "relu", scratch, keep)

    def loss_and_grads(self, x1, y, onehot):
        """Each row's mean cross-entropy L (K,) on its batch and ∂L/∂θ for ``tensors``:
        [∂[W_1 | b_1], ∂W_2 … ∂W_L, ∂b_2 … ∂b_L].

        x1 = [x; 1] (d_0 + 1, B) with labels y (B,) and one-hot targets (C, B), shared by every
        row; or per seed, (S, d_0 + 1, B), (S, B), (S, C, B)."""
        shared = x1.dim() == 2 or x1.shape[0] == 1
        if shared:
            x1, y, onehot = (x1.reshape(x1.shape[-2:]), y.reshape(-1), onehot.reshape(onehot.shape[-2:]))
        K, B = len(self), x1.shape[-1]
        logits, acts = self.forward(x1, keep=True)
        logp = torch.log_softmax(logits, 1)
        labels = y.view(1, 1, B).expand(K, 1, B) if shared else y[self.seed_of].unsqueeze(1)
        loss = -logp.gather(1, labels).mean((1, 2))
        g = logp.exp_().sub_(onehot if shared else onehot[self.seed_of]).div_(B)  # ∂L/∂z_L = (p − Y)/B
        L = self.n_layers
        grads = [None] * len(self.tensors)
        Ws = self.Ws
        for l in range(L - 1, 0, -1):
            grads[l] = torch.bmm(g, acts[l].transpose(1, 2))  # ∂L/∂W_l = ∂L/∂z_l·a_{l−1}ᵀ
            grads[L - 1 + l] = g.sum(2, keepdim=True)  # ∂L/∂b_l
            back = torch.bmm(Ws[l].transpose(1, 2), g)  # ∂L/∂a_{l−1} = W_lᵀ·∂L/∂z_l
            g = torch.ops.aten.threshold_backward(back, acts[l], 0)  # 0 where a_{l−1} = 0
        grads[0] = self._first_grad(g, x1)
        return loss, grads

    def _first_grad(self, g, x1):
        """∂L/∂[W_1 | b_1] = ∂L/∂z_1·[x; 1]ᵀ: one product for shared inputs, one per seed otherwise."""
        K, d_out, B = g.shape
        d_in = x1.shape[-2]
        if x1.dim() == 2:
            return torch.mm(g.reshape(K * d_out, B), x1.T).view(K, d_out, d_in)
        out = g.new_empty(K, d_out, d_in)
        for s, lo, hi in self.groups:
            torch.mm(g[lo:hi].reshape(-1, B), x1[s].T, out=out[lo:hi].view(-1, d_in))
        return out

    def sgd_step(self, grads, frozen=None) -> None:
        """v ← β·v + ∇L (β > 0), θ ← θ − η·v, in place; rows in ``frozen`` (bool (K,)) take
        no step and no NaN gets into them."""
        step = self.eta
        if frozen is not None:
            mask = frozen.view(-1, 1, 1)
            grads = [gr.masked_fill_(mask, 0.0) for gr in grads]
            step = step.masked_fill(mask, 0.0)
        for i, (p, gr) in enumerate(zip(self.tensors, grads)):
            if self.bufs is not None:
                gr = self.bufs[i].mul_(self.momentum).add_(gr)  # v ← β·v + ∇L
            p.addcmul_(step, gr, value=-1.0)  # θ ← θ − η·v

    def train_epoch(self, Xs, Ys, Hs, batch_size):
        """One epoch of SGD steps on this epoch's batches (see :func:`epoch_batches`).

        Returns every row's batch losses (rows, n_batches) and the rows whose loss turned
        non-finite (a bool mask, or None): those take no further step this epoch."""
        frozen, losses = None, []
        for start in range(0, Xs.shape[-1], batch_size):
            cut = slice(start, start + batch_size)
            loss, grads = self.loss_and_grads(Xs[:, :, cut], Ys[:, cut], Hs[:, :, cut])
            self.sgd_step(grads, frozen)
            losses.append(loss)
            finite = torch.isfinite(loss)
            if not bool(finite.all()):
                frozen = ~finite if frozen is None else frozen | ~finite
        return torch.stack(losses, 1), frozen

    def logits(self, pieces) -> torch.Tensor:
        """Logits (K, C, n) on a split given as feature-major chunks with a row of ones
        (d_0 + 1, ≤ chunk) (see :func:`chunks`). The hidden activations of every chunk go to
        the same flat buffers, kept between calls: with K = 64, fresh megabyte-sized tensors
        per epoch (page faults, cache misses) made the evaluation about twice as slow."""
        K = len(self)
        size = K * max((W.shape[1] for W in self.Ws[:-1]), default=0) * max(x.shape[1] for x in pieces)
        if not self.scratch or self.scratch[0].numel() < size:
            self.scratch = [pieces[0].new_empty(size) for _ in self.Ws[:-1]]
        return torch.cat([self.forward(x, self.scratch) for x in pieces], 2)

    def evaluate(self, pieces, y, n_classes, *, loss=True, acc=True, auc=True):
        """Per-row (loss, accuracy, macro AUC) on a split (float64 numpy arrays (K,); NaN for
        what was not asked for, and everywhere on an empty split)."""
        K = len(self)
        nan = np.full(K, np.nan)
        if len(y) == 0:
            return nan, nan.copy(), nan.copy()
        logits = self.logits(pieces)
        logp = torch.log_softmax(logits, 1)
        out_auc = macro_auc(logp.exp().transpose(1, 2), y, n_classes).numpy() if auc else nan.copy()
        out_loss = (-logp.gather(1, y.expand(K, 1, -1)).mean((1, 2))).double().numpy() if loss else nan.copy()
        out_acc = accuracy(logits, y, dim=1).numpy() if acc else nan.copy()
        return out_loss, out_acc, out_auc

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only ``rows`` (a boolean mask): the others leave the computation."""
        self.tensors = [t[rows] for t in self.tensors]
        if self.bufs is not None:
            self.bufs = [t[rows] for t in self.bufs]
        if self.eta is not None:
            self.eta = self.eta[rows]
        self.alive, self.seed_of = self.alive[rows], self.seed_of[rows]
        self._groups()


def with_ones(X: torch.Tensor, dim: int) -> torch.Tensor:
    """X with a row (along ``dim``) of ones appended: the inputs [x; 1] of :class:`StackedMLP`."""
    shape = list(X.shape)
    shape[dim] = 1
    return torch.cat([X, X.new_ones(shape)], dim)


def epoch_batches(X, y, one_hot, orders):
    """This epoch's data in each seed's batch order (``orders``: one ``epoch_orders`` iterator
    per seed), feature-major as :class:`StackedMLP` wants: inputs with a row of ones
    (S, d + 1, n), labels (S, n), one-hot targets (S, C, n)."""
    order = torch.stack([next(o) for o in orders])
    return with_ones(X[order].transpose(1, 2), 1), y[order], one_hot[order].transpose(1, 2).contiguous()


def chunks(X: torch.Tensor, size: int) -> list[torch.Tensor]:
    """X (n, d) as contiguous feature-major pieces with a row of ones, (d + 1, ≤ size)."""
    return [with_ones(X[i : i + size].T, 0) for i in range(0, len(X), size)]


def chunk_size(K: int, sizes) -> int:
    """Evaluation chunk: the hidden activations (K, width, chunk) stay cache-sized."""
    return int(np.clip(EVAL_BUDGET // (K * max(sizes[1:-1], default=1)), 16, 512))


def train_members(stack: StackedMLP, data, step, *, seeds, sizes, epochs: int, batch_size: int, dtype,
                  threads=1, show: bool = False, desc: str = "") -> dict:
    """Train every member of ``stack`` (member k reads seed k // (K / S)'s batches) for ``epochs``
    with the update ``step(grads, alive)``, then score it on the test split.

    ``step`` moves ``stack.tensors`` in place; ``grads`` are :meth:`StackedMLP.loss_and_grads`'s
    with NaN/inf zeroed and ``alive`` (bool (K,)) the members that still take steps. A member
    whose batch loss or hold-out loss turns non-finite is frozen (no step) from then on and
    marked diverged at that epoch; no member leaves the stack. Returns per member (K,):
    ``train_loss``, ``val_loss``, ``val_acc`` (K, epochs) (NaN once frozen), ``test_loss``,
    ``test_acc`` (NaN for diverged members) and ``diverged_at`` (−1: never)."""
    K, C = len(stack), int(data.n_classes)
    X, y = data.X_train.to(dtype), data.y_train
    n = len(y)
    size = chunk_size(K, sizes)
    val_chunks, test_chunks = chunks(data.X_val.to(dtype), size), chunks(data.X_test.to(dtype), size)
    one_hot = torch.nn.functional.one_hot(y, C).to(dtype)
    orders = [epoch_orders(n, s) for s in seeds]
    alive = torch.ones(K, dtype=torch.bool)
    out = {c: np.full((K, epochs), np.nan) for c in ("train_loss", "val_loss", "val_acc")}
    diverged_at = np.full(K, -1)
    with num_threads(threads), torch.no_grad():
        bar = progress_bar(epochs, show, desc)
        for epoch in bar:
            Xs, Ys, Hs = epoch_batches(X, y, one_hot, orders)  # (S, d, n), (S, n), (S, C, n)
            running = alive.clone()  # members that start this epoch
            total = torch.zeros(K, dtype=torch.float64)
            seen = torch.zeros(K, dtype=torch.float64)
            for start in range(0, n, batch_size):
                cut = slice(start, start + batch_size)
                loss, grads = stack.loss_and_grads(Xs[:, :, cut], Ys[:, cut], Hs[:, :, cut])
                value, B = loss.double(), Ys[:, cut].shape[1]
                total += torch.where(alive, value * B, 0.0)
                seen += alive * B
                alive &= torch.isfinite(value)  # a non-finite loss: no step with it, frozen
                step([g.nan_to_num_(0.0, 0.0, 0.0) for g in grads], alive)
            v_loss, v_acc, _ = stack.evaluate(val_chunks, data.y_val, C, auc=False)
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
        t_loss, t_acc, _ = stack.evaluate(test_chunks, data.y_test, C, auc=False)
    gone = diverged_at >= 0
    t_loss[gone], t_acc[gone] = np.nan, np.nan
    return {**out, "test_loss": t_loss, "test_acc": t_acc, "diverged_at": diverged_at}
