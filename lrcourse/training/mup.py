r"""μP for the book's MLP, by hand (Yang et al., 2022, "Tensor Programs V").

Under the standard parameterization (SP: torch's default init, one η for every layer) the
best η of an MLP drifts as it gets wider. μP changes three things so that, as the hidden
widths n_l grow from a *base* model's widths n_l⁰, every layer's update moves its output by
the same amount at every width — and the base model's best η stays the best:

1. the readout (the last layer) divides its input by m = n/n⁰ (the width multiplier of its
   fan-in): logits = W·(α·h/m) + b, α the `output_mult`;
2. the initialisation: torch's default U(±1/√fan_in) everywhere, but the biases of the
   hidden layers and the readout's W and b are multiplied by √m_in, so that their scale is
   the base model's (readout W: U(±1/√n⁰));
3. per-layer learning rates η·c (and weight decays λ/c, so that η·λ stays the base's), with
   m_in, m_out the multipliers of a layer's fan-in and fan-out (1 for the data's input and
   the classes):

   ===============  ===================  ==========  ===============  ==========
   layer            SGD: c for W         c for b     Adam: c for W    c for b
   ===============  ===================  ==========  ===============  ==========
   input            m_out                m_out       1                1
   hidden           m_out / m_in         m_out       1 / m_in         1
   readout          m_in                 1           1                1
   ===============  ===================  ==========  ===============  ==========

At the base widths every multiplier is 1 and the model is the book's SP model
(:func:`lrcourse.training.models.mlp`, same seed, same weights). This is the parameterization
of the `mup` package (`MuReadout`, `set_base_shapes` with its default rescaling of torch's
init, `MuSGD`, `MuAdam`/`MuAdamW`), which tests/test_mup.py checks step for step.
"""
from __future__ import annotations

import torch
from torch import nn

from lrcourse import _checks

__all__ = ["MuReadout", "mup_mlp", "lr_multipliers", "mup_param_groups", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam")  # "adam" also covers AdamW (and any entrywise-normalised step)


class MuReadout(nn.Linear):
    """The readout layer of μP: logits = W·(α·h/m) + b, with m the fan-in's width multiplier."""

    def __init__(self, in_features, out_features, bias=True, *, width_mult=1.0, output_mult=1.0,
                 device=None, dtype=None):
        self.width_mult = float(width_mult)
        self.output_mult = float(output_mult)
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)

    def forward(self, h):
        return super().forward(self.output_mult * h / self.width_mult)

    def extra_repr(self):
        return f"{super().extra_repr()}, width_mult={self.width_mult}, output_mult={self.output_mult}"


def _width_mults(sizes, base_sizes):
    """m_l = n_l / n_l⁰ for every layer width (1 at the input and the output)."""
    sizes, base_sizes = _checks.sizes(sizes), _checks.sizes(base_sizes, "base_sizes")
    if len(sizes) != len(base_sizes):
        raise ValueError(f"Invalid base_sizes: {base_sizes!r} (need one base width per layer "
                         f"width of {sizes!r})")
    if (sizes[0], sizes[-1]) != (base_sizes[0], base_sizes[-1]):
        raise ValueError(f"Invalid base_sizes: {base_sizes!r} (the input and output sizes are "
                         f"not widths: they must equal {sizes[0]} and {sizes[-1]})")
    return [n / n0 for n, n0 in zip(sizes, base_sizes)]


def lr_multipliers(sizes, base_sizes, optimizer: str = "sgd") -> list[tuple[float, float]]:
    """μP's (c_W, c_b) for every Linear layer of the MLP: its η is η·c (the table above)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Invalid optimizer: {optimizer!r} (must be one of {OPTIMIZERS})")
    m = _width_mults(sizes, base_sizes)
    last = len(m) - 2
    out = []
    for l in range(len(m) - 1):
        m_in, m_out = m[l], m[l + 1]
        if optimizer == "sgd":
            out.append((m_in, 1.0) if l == last else (m_out / m_in, m_out))
        else:
            out.append((1.0, 1.0) if l == last else (1.0 / m_in, 1.0))
    return out


def mup_mlp(sizes, base_sizes, seed: int = 0, dtype: torch.dtype = torch.float32, *,
            output_mult: float = 1.0, readout_zero_init: bool = False) -> nn.Sequential:
    """The book's MLP (Linear → ReLU → … → readout) of widths ``sizes`` under μP.

    ``base_sizes``: the widths the learning rate is tuned at (same input and output sizes).
    Initialisation as :func:`lrcourse.training.models.mlp` draws it (torch's default init
    after ``torch.manual_seed(seed)``, in a forked RNG), then rescaled by μP's rule 2;
    ``readout_zero_init`` starts the readout at 0 instead. The model remembers ``sizes`` and
    ``base_sizes`` for :func:`mup_param_groups`.
    """
    m = _width_mults(sizes, base_sizes)
    sizes, seed = _checks.sizes(sizes), _checks.seed(seed)
    dtype = _checks.float_dtype(dtype)
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for l, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if l:
                layers.append(nn.ReLU())
            if l == len(sizes) - 2:
                layers.append(MuReadout(d_in, d_out, width_mult=m[l], output_mult=output_mult,
                                        dtype=dtype))
            else:
                layers.append(nn.Linear(d_in, d_out, dtype=dtype))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for l, layer in enumerate(_linears(model)):
            scale = m[l] ** 0.5  # √m_in: 1 for the input layer
            layer.bias.mul_(scale)
            if isinstance(layer, MuReadout):
                layer.weight.mul_(scale)
                if readout_zero_init:
                    layer.weight.zero_()
                    layer.bias.zero_()
    model.sizes, model.base_sizes = sizes, tuple(base_sizes)
    return model


def _linears(model):
    return [layer for layer in model if isinstance(layer, nn.Linear)]


def mup_param_groups(model: nn.Sequential, lr: float, optimizer: str = "sgd",
                     weight_decay: float = 0.0) -> list[dict]:
    """One param group per tensor of a :func:`mup_mlp` model: η·c and λ/c (the table above).

    Pass them to ``torch.optim.SGD`` (``optimizer="sgd"``) or ``torch.optim.Adam``/``AdamW``
    (``optimizer="adam"``); the optimizer's other arguments apply to every group.
    """
    lr = _checks.lr(lr)
    weight_decay = _checks.lr(weight_decay, "weight_decay")
    if not hasattr(model, "base_sizes"):
        raise ValueError("model must come from lrcourse.training.mup.mup_mlp (it has no "
                         "base_sizes)")
    groups = []
    for layer, mults in zip(_linears(model), lr_multipliers(model.sizes, model.base_sizes,
                                                            optimizer)):
        for p, c in zip((layer.weight, layer.bias), mults):
            groups.append({"params": [p], "lr": lr * c, "weight_decay": weight_decay / c})
    return groups
