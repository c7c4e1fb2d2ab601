r"""A small decoder-only transformer in plain torch, and the task it learns: a + b mod p.

The model (Vaswani et al. 2017, decoder only, pre-norm; GPT-2's initialisation): token and
position embeddings, then
``n_layers`` blocks of

    h ← h + Attention(LayerNorm(h))        (causal multi-head self-attention)
    h ← h + MLP(LayerNorm(h))              (Linear → ReLU → Linear)

then a final LayerNorm and a linear read-out to the ``n_out`` classes at every position.
Attention is written out: for each head, with queries Q, keys K and values V,

    A = softmax(Q Kᵀ/√d_head + M) V,     M_ij = −∞ for j > i (a position never sees a later one)

which is what ``torch.nn.functional.scaled_dot_product_attention(..., is_causal=True)``
computes (the tests check it). The weights are drawn from ``torch.Generator(seed)``, so
``Transformer(..., seed=s)`` is the same network on every machine. Every weight carries a
leading axis of K *members*: ``Transformer(..., seed=[0, 1, 2])`` is three independent
transformers evaluated as one computation (batched matrix products), which is what makes
sweeps over seeds, learning rates and schedules affordable on a CPU; ``seed=0`` is one model.

The task (Power et al. 2022, "grokking"): the sequence ``[a, b, =]`` with a, b in 0..p−1 and
the token ``=`` = p; the answer (a + b) mod p is read at the last position. All p² pairs are
shuffled by a seed and cut into train / hold-out / test (:func:`modular_addition`).

Training many runs at once: :func:`train_stacked` trains K copies (different seeds,
learning-rate schedules and weight decays) full-batch with AdamW as one computation;
member k follows what
``torch.optim.AdamW(model_k.parameters(), lr=lr[k, t], weight_decay=wd[k])`` does to model k
alone (the tests check that too). :func:`train_one` trains one model with any optimizer
(including the learning-rate-free ones, and schedule-free's ``train()``/``eval()``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lrcourse import _checks
from lrcourse._runtime import num_threads

__all__ = ["ModularTask", "modular_addition", "causal_attention", "Transformer",
           "StackedRun", "train_stacked", "SingleRun", "train_one"]


# ------------------------------------------------------------------------------- the task
@dataclass
class ModularTask:
    """All pairs (a, b) of Z_p as sequences [a, b, p] (p is the token "="), split three ways."""

    p: int
    X_train: torch.Tensor  # (n_train, 3) long
    y_train: torch.Tensor  # (n_train,) long: (a + b) mod p
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def vocab(self) -> int:
        return self.p + 1


def modular_addition(p: int = 23, train_fraction: float = 0.5, val_fraction: float = 0.25,
                     seed: int = 0) -> ModularTask:
    """The p² sums a + b mod p, shuffled by ``seed``: the first ``train_fraction`` of them to
    train on, the next ``val_fraction`` as hold-out, the rest as test."""
    p = _checks.expected_int(p, "p", 2)
    seed = _checks.seed(seed)
    if not (0 < train_fraction < 1 and 0 < val_fraction < 1 and train_fraction + val_fraction < 1):
        raise ValueError(f"Invalid fractions: train_fraction={train_fraction}, val_fraction={val_fraction} "
                         "(each in (0, 1), their sum below 1)")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    X = np.stack([a.ravel(), b.ravel(), np.full(p * p, p)], axis=1)
    y = (a.ravel() + b.ravel()) % p
    order = np.random.default_rng(seed).permutation(p * p)
    n_train, n_val = int(round(train_fraction * p * p)), int(round(val_fraction * p * p))
    parts = np.split(order, [n_train, n_train + n_val])
    t = [(torch.as_tensor(X[i]), torch.as_tensor(y[i])) for i in parts]
    return ModularTask(p, t[0][0], t[0][1], t[1][0], t[1][1], t[2][0], t[2][1])


# ------------------------------------------------------------------------------- the model
# Every weight has a leading axis of K members: K independent transformers (different seeds)
# evaluated as one computation. A single model is K = 1. Activations are (K, B, T, D).

def _linear(h: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h (K, B, T, d_in) @ W (K, d_in, d_out) + b (K, d_out), member by member."""
    K, B, T, d_in = h.shape
    return torch.baddbmm(b[:, None, :], h.reshape(K, B * T, d_in), W).view(K, B, T, -1)


def _layer_norm(h: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(h, h.shape[-1:]) * g[:, None, None, :] + b[:, None, None, :]


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(Q Kᵀ/√d + M) V with M_ij = −∞ for j > i; q, k, v of shape (..., T, d)."""
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)                          # (..., T, T)
    later = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)     # j > i
    return scores.masked_fill(later, float("-inf")).softmax(dim=-1) @ v


class Transformer(nn.Module):
    """K decoder-only transformers (one per seed): tokens (B, T) long → logits (K, B, T, n_out).

    Pre-norm blocks, h ← h + Attention(LN(h)); h ← h + MLP(LN(h)), then LN and a linear head.
    """

    def __init__(self, vocab: int, n_out: int, *, d_model: int = 32, n_heads: int = 4, n_layers: int = 1,
                 d_mlp: int | None = None, max_len: int = 3, seed=0, dtype: torch.dtype = torch.float32):
        super().__init__()
        for name, value in (("vocab", vocab), ("n_out", n_out), ("d_model", d_model), ("n_heads", n_heads),
                            ("n_layers", n_layers), ("max_len", max_len)):
            _checks.expected_int(value, name, 1)
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        self.seeds = [_checks.seed(s) for s in ([seed] if isinstance(seed, (int, np.integer)) else seed)]  # may repeat
        self.n_heads, self.n_layers, self.max_len = n_heads, n_layers, max_len
        K, D, H = len(self.seeds), d_model, d_mlp or 4 * d_model
        shapes = {"tok": (vocab, D), "pos": (max_len, D)}
        for i in range(n_layers):
            shapes.update({f"b{i}.ln1_g": (D,), f"b{i}.ln1_b": (D,), f"b{i}.qkv_W": (D, 3 * D),
                           f"b{i}.qkv_b": (3 * D,), f"b{i}.out_W": (D, D), f"b{i}.out_b": (D,),
                           f"b{i}.ln2_g": (D,), f"b{i}.ln2_b": (D,), f"b{i}.mlp1_W": (D, H),
                           f"b{i}.mlp1_b": (H,), f"b{i}.mlp2_W": (H, D), f"b{i}.mlp2_b": (D,)})
        shapes.update({"lnf_g": (D,), "lnf_b": (D,), "head_W": (D, n_out), "head_b": (n_out,)})
        self.w = nn.ParameterDict({name.replace(".", "_"): nn.Parameter(torch.empty(K, *s, dtype=dtype))
                                   for name, s in shapes.items()})
        self._init(dtype)

    @torch.no_grad()
    def _init(self, dtype: torch.dtype) -> None:
        """GPT-2's initialisation, member k from its own seeded generator: weights N(0, 0.02²),
        biases 0, LayerNorm scales 1."""
        for k, s in enumerate(self.seeds):
            gen = torch.Generator().manual_seed(s)
            for name, p in self.w.items():
                if name.endswith("_g"):
                    p[k] = 1.0
                elif name.endswith("_b"):
                    p[k] = 0.0
                else:
                    p[k] = torch.randn(p.shape[1:], generator=gen, dtype=torch.float64).to(dtype) * 0.02

    def attention(self, h: torch.Tensor, i: int) -> torch.Tensor:
        """Block i's causal multi-head self-attention of h (K, B, T, D)."""
        w, (K, B, T, D) = self.w, h.shape
        q, k, v = _linear(h, w[f"b{i}_qkv_W"], w[f"b{i}_qkv_b"]).split(D, dim=-1)
        heads = [z.view(K, B, T, self.n_heads, D // self.n_heads).transpose(2, 3) for z in (q, k, v)]
        a = causal_attention(*heads).transpose(2, 3).reshape(K, B, T, D)   # (K, B, H, T, d) → (K, B, T, D)
        return _linear(a, w[f"b{i}_out_W"], w[f"b{i}_out_b"])

    def forward(self, tokens: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Logits (K, B, T, n_out); ``last_only``: at the last position only, (K, B, 1, n_out) —
        the same numbers, without computing what no later layer reads."""
        w, T = self.w, tokens.shape[-1]
        if T > self.max_len:
            raise ValueError(f"sequence of length {T} is longer than max_len = {self.max_len}")
        h = w["tok"][:, tokens] + w["pos"][:, None, :T]                     # (K, B, T, D)
        for i in range(self.n_layers):
            h = h + self.attention(_layer_norm(h, w[f"b{i}_ln1_g"], w[f"b{i}_ln1_b"]), i)
            if last_only and i == self.n_layers - 1:
                h = h[:, :, -1:]                                            # nothing reads the others
            z = _layer_norm(h, w[f"b{i}_ln2_g"], w[f"b{i}_ln2_b"])
            z = _linear(torch.relu(_linear(z, w[f"b{i}_mlp1_W"], w[f"b{i}_mlp1_b"])), w[f"b{i}_mlp2_W"], w[f"b{i}_mlp2_b"])
            h = h + z
        return _linear(_layer_norm(h, w["lnf_g"], w["lnf_b"]), w["head_W"], w["head_b"])


def _answer_logits(logits: torch.Tensor) -> torch.Tensor:
    return logits[..., -1, :]  # the answer is read at the last position ("=")


# ------------------------------------------------------------------------------- K runs at once
@dataclass
class StackedRun:
    """Curves of K runs, shape (K, n_evals): accuracy and loss after the steps in ``eval_steps``."""

    eval_steps: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    diverged: np.ndarray  # (K,) bool: a non-finite loss was met (the member froze there)


def train_stacked(task: ModularTask, lr, weight_decay, seeds, *, steps: int, eval_every: int = 10,
                  betas=(0.9, 0.98), eps: float = 1e-8, threads: int | None = 1,
                  dtype: torch.dtype = torch.float32, **model_kw) -> StackedRun:
    """Full-batch AdamW on K transformers at once. ``lr``: (K, ≥ steps), the learning rate of
    member k at step t (a schedule per member); ``weight_decay`` and ``seeds``: K values each.
    Member k does what ``torch.optim.AdamW(lr=lr[k, t], weight_decay=weight_decay[k])`` does
    to ``Transformer(seed=seeds[k])`` alone."""
    lr = torch.as_tensor(np.asarray(lr, dtype=float))
    seeds = list(seeds)
    K = len(seeds)
    wd = torch.as_tensor(np.broadcast_to(np.asarray(weight_decay, dtype=float), (K,)).copy())
    steps = _checks.positive_int(steps, "steps")
    if lr.ndim != 2 or lr.shape[0] != K or lr.shape[1] < steps:
        raise ValueError(f"lr must have shape (K, ≥ steps) = ({K}, ≥ {steps}); got {tuple(lr.shape)}")
    model = Transformer(task.vocab, task.p, seed=seeds, dtype=dtype, **model_kw)
    P = list(model.parameters())
    M, V = [torch.zeros_like(p) for p in P], [torch.zeros_like(p) for p in P]
    b1, b2 = betas
    evals = sorted(set(range(0, steps + 1, eval_every)) | {steps})
    out = {k: np.full((K, len(evals)), np.nan) for k in ("train_acc", "val_acc", "test_acc", "train_loss", "val_loss")}
    alive = torch.ones(K, dtype=torch.bool)

    def per_member(x):  # (K,) → one view per parameter, broadcastable against it
        return [x.to(p.dtype).view(-1, *([1] * (p.dim() - 1))) for p in P]

    @torch.no_grad()
    def evaluate(i):
        for split in ("train", "val", "test"):
            X, y = getattr(task, f"X_{split}"), getattr(task, f"y_{split}")
            z = _answer_logits(model(X, last_only=True))                                             # (K, n, p)
            out[f"{split}_acc"][:, i] = (z.argmax(-1) == y).double().mean(1).numpy()
            if split != "test":
                out[f"{split}_loss"][:, i] = F.cross_entropy(
                    z.transpose(1, 2), y.expand(K, -1), reduction="none").mean(1).double().numpy()

    with num_threads(threads):
        evaluate(0)
        for t in range(steps):
            losses = F.cross_entropy(_answer_logits(model(task.X_train, last_only=True)).transpose(1, 2),
                                     task.y_train.expand(K, -1), reduction="none").mean(1)   # (K,)
            grads = torch.autograd.grad(losses.sum(), P)       # member k's gradient is ∇L_k alone
            alive &= torch.isfinite(losses.detach())
            step_lr = torch.where(alive, lr[:, t], 0.0)                                # frozen once diverged
            bc1, bc2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
            with torch.no_grad():                                                       # torch's AdamW, per member
                G = [g.nan_to_num(0.0, 0.0, 0.0) for g in grads]
                torch._foreach_lerp_(M, G, 1 - b1)                                      # m ← β₁m + (1−β₁)g
                torch._foreach_mul_(V, b2)
                torch._foreach_addcmul_(V, G, G, value=1 - b2)                          # v ← β₂v + (1−β₂)g²
                torch._foreach_mul_(P, per_member(1 - step_lr * wd))                    # θ ← (1 − ηλ)θ
                denom = torch._foreach_sqrt(V)
                torch._foreach_div_(denom, math.sqrt(bc2))
                torch._foreach_add_(denom, eps)                                         # √v̂ + ε
                step = torch._foreach_div(M, denom)
                torch._foreach_mul_(step, per_member(step_lr / bc1))
                torch._foreach_sub_(P, step)                                            # θ ← θ − η m̂/(√v̂ + ε)
            if t + 1 in evals:
                evaluate(evals.index(t + 1))
    return StackedRun(np.array(evals), diverged=~alive.numpy(), **out)


# ------------------------------------------------------------------------------- one run, any optimizer
@dataclass
class SingleRun:
    val_acc: float
    test_acc: float
    train_acc: float


def _switch(optimizer, mode: str) -> None:
    if hasattr(optimizer, mode) and callable(getattr(optimizer, mode)) and hasattr(optimizer, "param_groups"):
        if any("train_mode" in g for g in optimizer.param_groups):
            getattr(optimizer, mode)()  # schedule-free: evaluate at the averaged point x


def train_one(model: nn.Module, optimizer, X, y, splits, *, steps: int, batch_size: int | None = None,
              scheduler=None, seed: int = 0, answer_only: bool = False, threads: int | None = 1) -> SingleRun:
    """Train ``model`` for ``steps`` optimizer steps on (X, y) (mini-batches of ``batch_size``
    drawn in a seeded order, or full batch), then report accuracy on ``splits`` = (X_val, y_val,
    X_test, y_test). Schedule-free optimizers are put in ``train()`` mode to train and ``eval()``
    mode to evaluate. ``answer_only``: the model is a :class:`Transformer` (read the last position)."""
    gen = torch.Generator().manual_seed(_checks.seed(seed))
    n = len(y)
    batch_size = n if batch_size is None else batch_size
    order, at = torch.randperm(n, generator=gen), 0

    def head(z):
        return z[0, :, -1, :] if answer_only else z  # a Transformer with K = 1: the answer position

    with num_threads(threads):
        _switch(optimizer, "train")
        model.train()
        for _ in range(steps):
            if at + batch_size > n:
                order, at = torch.randperm(n, generator=gen), 0
            idx = order[at:at + batch_size]
            at += batch_size
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(head(model(X[idx])), y[idx])
            if not torch.isfinite(loss):
                return SingleRun(float("nan"), float("nan"), float("nan"))
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        _switch(optimizer, "eval")
        model.eval()
        with torch.no_grad():
            acc = [float((head(model(A)).argmax(-1) == b).double().mean()) for A, b in
                   ((splits[0], splits[1]), (splits[2], splits[3]), (X, y))]
    return SingleRun(*acc)
