"""A multilayer perceptron with its backward pass written by hand (torch tensors, no autograd).

Each layer has ``forward(x)``, which caches what its backward will need, and
``backward(g)``, which takes g = ∂L/∂(output) and returns ∂L/∂(input) by the chain rule,
storing the gradients of its own parameters on the way. For a batch x of shape (B, d_in)
and integer labels y of shape (B,):

    Linear           z = x Wᵀ + b          ∂L/∂W = gᵀx,  ∂L/∂b = Σ_rows g,  ∂L/∂x = g W
    ReLU             a = max(z, 0)         ∂L/∂z = g · [z > 0]
    Tanh             a = tanh z            ∂L/∂z = g · (1 − a²)
    SoftmaxCrossEntropy
                     L = −(1/B) Σ_i log softmax(z_i)[y_i]
                                           ∂L/∂z = (softmax(z) − onehot(y)) / B

``W`` has torch.nn.Linear's layout (out, in), so weights copy to and from torch one to one
(:meth:`MLP.to_torch`, :meth:`MLP.from_torch`), and the tests check every gradient against
``torch.autograd``. :func:`sgd_step` is plain gradient descent, θ ← θ − η∇L.
"""
from __future__ import annotations

import math
import numbers

import torch
from torch import nn
from torch.nn.utils import skip_init

from lrcourse import _checks


__all__ = ["Linear", "ReLU", "Tanh", "SoftmaxCrossEntropy", "MLP", "sgd_step"]


class Linear:
    """z = x Wᵀ + b with W of shape (out, in) and b of shape (out,).

    Initialised like torch.nn.Linear: W and b uniform in ±1/√in (kaiming-uniform with
    a = √5), drawn W first, then b, from ``generator``.
    """

    def __init__(self, in_features: int, out_features: int, *,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32):
        # torch computes the weight bound as gain·√(3/fan_in) with gain = √(2/(1 + a²)),
        # a = √5; that is 1/√fan_in up to rounding. Computing it the same way keeps the
        # numbers bit-for-bit equal to torch's for the same seed.
        gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
        w_bound = math.sqrt(3.0) * (gain / math.sqrt(in_features))
        b_bound = 1 / math.sqrt(in_features)
        self.W = torch.empty(out_features, in_features, dtype=dtype).uniform_(
            -w_bound, w_bound, generator=generator)
        self.b = torch.empty(out_features, dtype=dtype).uniform_(
            -b_bound, b_bound, generator=generator)
        self.dW = self.db = None
        self._x = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._x = x
        return x @ self.W.T + self.b

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        """Store ∂L/∂W = gᵀx and ∂L/∂b = Σ_rows g; return ∂L/∂x = g W."""
        self.dW = g.T @ self._x
        self.db = g.sum(dim=0)
        return g @ self.W

    def __repr__(self):
        return f"Linear({self.W.shape[1]}, {self.W.shape[0]})"


class ReLU:
    """a = max(z, 0); backward: ∂L/∂z = ∂L/∂a · [z > 0]."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._mask = z > 0
        return z.clamp(min=0)

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        return g.masked_fill(~self._mask, 0)

    def __repr__(self):
        return "ReLU()"


class Tanh:
    """a = tanh z; backward: ∂L/∂z = ∂L/∂a · (1 − a²)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._a = torch.tanh(z)
        return self._a

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        return g * (1 - self._a ** 2)

    def __repr__(self):
        return "Tanh()"


class SoftmaxCrossEntropy:
    """L = mean over the batch of −log softmax(z)[y], with a numerically stable log-softmax:
    log softmax(z)_k = z_k − m − log Σ_j exp(z_j − m), m = max_j z_j (no exp overflows).

    backward() returns ∂L/∂z = (softmax(z) − onehot(y)) / B.
    """

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        _check_targets(z, y)
        m = z.max(dim=1, keepdim=True).values
        shifted = z - m
        log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
        self._p, self._y = log_p.exp(), y
        return -log_p[torch.arange(len(y)), y].mean()

    def backward(self) -> torch.Tensor:
        g = self._p.clone()
        g[torch.arange(len(self._y)), self._y] -= 1
        return g / len(self._y)

    def __repr__(self):
        return "SoftmaxCrossEntropy()"


_ACTIVATIONS = {"relu": (ReLU, nn.ReLU), "tanh": (Tanh, nn.Tanh)}


class MLP:
    """sizes = [d_in, h_1, …, d_out]: Linear layers with ``activation`` between them (none
    after the last), followed by softmax cross-entropy.

    ``loss(x, y)`` runs forward and the loss; ``backward()`` then returns ∂L/∂θ for
    ``parameters()`` = [W_1, b_1, W_2, b_2, …] in that order (also kept for ``grads()``).
    Weights are drawn like torch.nn.Linear's from ``generator`` if given, else from a
    ``torch.Generator`` seeded with ``seed``: ``MLP(sizes, seed=s)`` holds the same numbers as
    ``torch.manual_seed(s)`` followed by building the equal ``nn.Sequential``.
    """

    def __init__(self, sizes, activation: str = "relu", *, seed: int = 0,
                 dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None):
        sizes = _check_sizes(sizes)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"Invalid activation: {activation!r} (must be one of "
                             f"{sorted(_ACTIVATIONS)})")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"Invalid dtype: {dtype!r} (must be a floating torch dtype)")
        if generator is None:
            seed = _checks.seed(seed)
            generator = torch.Generator().manual_seed(int(seed))
        self.sizes, self.activation, self.dtype = sizes, activation, dtype
        self.layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                self.layers.append(_ACTIVATIONS[activation][0]())
            self.layers.append(Linear(d_in, d_out, generator=generator, dtype=dtype))
        self.criterion = SoftmaxCrossEntropy()
        self._ready = False  # True between loss() and the backward() that uses it

    @property
    def linears(self) -> list[Linear]:
        return [layer for layer in self.layers if isinstance(layer, Linear)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, d_out) for x of shape (B, d_in)."""
        _check_input(x, self.sizes[0], self.dtype)
        self._ready = False
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """L(θ) = mean cross-entropy of the logits of x against labels y (a 0-d tensor)."""
        value = self.criterion.forward(self.forward(x), y)
        self._ready = True
        return value

    def backward(self) -> list[torch.Tensor]:
        """∇L for the last ``loss(x, y)``: [∂L/∂W_1, ∂L/∂b_1, …], layer by layer backwards."""
        if not self._ready:
            raise RuntimeError("call loss(x, y) before backward()")
        g = self.criterion.backward()
        for layer in reversed(self.layers):
            g = layer.backward(g)
        self._ready = False
        return self.grads()

    def parameters(self) -> list[torch.Tensor]:
        """θ = [W_1, b_1, W_2, b_2, …] (the tensors themselves: updating them updates the model)."""
        return [t for lin in self.linears for t in (lin.W, lin.b)]

    def grads(self) -> list[torch.Tensor]:
        """∇L from the last backward(), in the order of parameters()."""
        if self.linears[0].dW is None:
            raise RuntimeError("no gradients yet: call loss(x, y) and backward() first")
        return [t for lin in self.linears for t in (lin.dW, lin.db)]

    def to_torch(self) -> nn.Sequential:
        """An equal torch.nn.Sequential (Linear, activation, …, Linear) holding copies of θ.

        Builds the Linears with ``skip_init``, so torch's global random state is not touched.
        """
        modules = []
        for layer in self.layers:
            if isinstance(layer, Linear):
                lin = skip_init(nn.Linear, layer.W.shape[1], layer.W.shape[0], dtype=self.dtype)
                with torch.no_grad():
                    lin.weight.copy_(layer.W)
                    lin.bias.copy_(layer.b)
                modules.append(lin)
            else:
                modules.append(_ACTIVATIONS[self.activation][1]())
        return nn.Sequential(*modules)

    @classmethod
    def from_torch(cls, model: nn.Sequential) -> "MLP":
        """An MLP holding copies of the weights of ``Sequential(Linear, act, …, Linear)``
        (act all ReLU or all Tanh; every Linear with a bias)."""
        modules = list(model)
        linears, acts = modules[0::2], modules[1::2]
        act_types = {type(a) for a in acts}
        names = [name for name, (_, torch_cls) in _ACTIVATIONS.items() if {torch_cls} == act_types]
        if (not linears or not all(isinstance(m, nn.Linear) and m.bias is not None for m in linears)
                or len(acts) != len(linears) - 1 or (acts and not names)):
            raise ValueError("from_torch needs nn.Sequential(Linear, act, …, Linear) with "
                             "biases and one activation type (ReLU or Tanh); got "
                             f"{[type(m).__name__ for m in modules]}")
        sizes = [linears[0].in_features] + [m.out_features for m in linears]
        for a, b in zip(linears[:-1], linears[1:]):
            if a.out_features != b.in_features:
                raise ValueError(f"Linear sizes do not chain: {a} followed by {b}")
        mlp = cls(sizes, names[0] if names else "relu", dtype=linears[0].weight.dtype)
        for mine, theirs in zip(mlp.linears, linears):
            mine.W = theirs.weight.detach().clone()
            mine.b = theirs.bias.detach().clone()
        return mlp

    def __repr__(self):
        return f"MLP({self.sizes}, activation={self.activation!r}, dtype={self.dtype})"


def sgd_step(params, grads, eta) -> list[torch.Tensor]:
    """One step of gradient descent, in place: θ ← θ − η∇L for each pair (θ, ∇L).

    Returns ``params``. η must be a finite number ≥ 0 (else ValueError, torch's wording).
    """
    eta = _checks.lr(eta)
    params, grads = list(params), list(grads)
    if len(params) != len(grads):
        raise ValueError(f"got {len(params)} parameters but {len(grads)} gradients")
    for i, (p, g) in enumerate(zip(params, grads)):
        if p.shape != g.shape:
            raise ValueError(f"parameter {i} has shape {tuple(p.shape)} but its gradient "
                             f"has shape {tuple(g.shape)}")
    with torch.no_grad():  # so that it also steps torch leaf tensors that require grad
        for p, g in zip(params, grads):
            p.add_(g, alpha=-eta)
    return params


# -------------------------------------------------------------------------------------------
# argument checks


def _check_sizes(sizes) -> list[int]:
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(f"Invalid sizes: {sizes!r} (must be a list of layer widths)") from None
    if len(sizes) < 2 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                 and s > 0 for s in sizes):
        raise ValueError(f"Invalid sizes: {sizes!r} (need [d_in, …, d_out], at least two "
                         "positive integers)")
    return [int(s) for s in sizes]


def _check_input(x, d_in: int, dtype: torch.dtype) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"Expected x to be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != d_in or x.shape[0] == 0:
        raise ValueError(f"Expected x of shape (B, {d_in}) with B ≥ 1, got {tuple(x.shape)}")
    if x.dtype != dtype:
        raise ValueError(f"Expected x of dtype {dtype}, got {x.dtype}")


def _check_targets(z: torch.Tensor, y) -> None:
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64:
        raise ValueError(f"Expected y to be an int64 tensor of class labels, got "
                         f"{getattr(y, 'dtype', type(y).__name__)}")
    if y.ndim != 1 or len(y) != len(z):
        raise ValueError(f"Expected y of shape ({len(z)},) to match the batch of x, "
                         f"got {tuple(y.shape)}")
    if len(y) and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"Expected class labels in [0, {z.shape[1]}), got values in "
                         f"[{int(y.min())}, {int(y.max())}]")
