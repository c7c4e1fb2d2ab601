"""μP by hand (lrcourse.training.mup) against the `mup` package (1.0.0) as the oracle.

The same MLP (same seed, so torch's init draws the same numbers) is built twice: ours with
`mup_mlp`, theirs with `mup.MuReadout` as the last layer and `mup.set_base_shapes` (which
rescales torch's init). Trained 100 steps in float64 with torch.optim under our
`mup_param_groups` and with `mup.MuSGD` / `mup.MuAdam` / `mup.MuAdamW`, the parameters must
agree to 1e-10 — for widths above, below and at the base widths, hidden layers of different
multipliers, with momentum and weight decay.
"""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lrcourse.training.models import mlp
from lrcourse.training.mup import lr_multipliers, mup_mlp, mup_param_groups

mup = pytest.importorskip("mup")

TOL = 1e-10
STEPS, BATCH = 100, 32


def their_model(sizes, base_sizes, seed, output_mult=1.0, readout_zero_init=False):
    """The package's way: Linear/ReLU layers, a MuReadout, then set_base_shapes."""
    def build(widths, dtype=torch.float64):
        layers = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
                if i:
                    layers.append(nn.ReLU())
                if i == len(widths) - 2:
                    layers.append(mup.MuReadout(d_in, d_out, dtype=dtype, output_mult=output_mult,
                                                readout_zero_init=readout_zero_init))
                else:
                    layers.append(nn.Linear(d_in, d_out, dtype=dtype))
        return nn.Sequential(*layers)
    model = build(sizes)
    mup.set_base_shapes(model, build(base_sizes))
    return model


def data(d_in, classes, n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, d_in, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    return centers[y] + torch.randn(n, d_in, generator=g, dtype=torch.float64), y


def train(model, opt, X, y, steps=STEPS):
    for k in range(steps):
        i = (k % (len(X) // BATCH)) * BATCH
        opt.zero_grad()
        F.cross_entropy(model(X[i:i + BATCH]), y[i:i + BATCH]).backward()
        opt.step()


def flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


SHAPES = [  # (sizes, base_sizes): wider, narrower, unequal multipliers, at the base
    ((40, 256, 256, 10), (40, 64, 64, 10)),
    ((40, 32, 32, 10), (40, 128, 128, 10)),
    ((40, 128, 96, 10), (40, 32, 48, 10)),
    ((40, 64, 64, 10), (40, 64, 64, 10)),
    ((20, 200, 5), (20, 50, 5)),
]
OPTIMIZERS = [  # (ours: torch class, kind, kwargs), the package's constructor
    ("SGD", "sgd", dict(lr=0.05), mup.MuSGD),
    ("SGD", "sgd", dict(lr=0.02, momentum=0.9, weight_decay=1e-3, nesterov=True), mup.MuSGD),
    ("Adam", "adam", dict(lr=1e-3), mup.MuAdam),
    ("Adam", "adam", dict(lr=3e-3, betas=(0.8, 0.99), weight_decay=1e-3), mup.MuAdam),
    ("AdamW", "adam", dict(lr=3e-3, weight_decay=0.1), mup.MuAdamW),
]


@pytest.mark.parametrize("sizes,base_sizes", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_initialisation_and_forward_are_the_packages(sizes, base_sizes):
    ours, theirs = mup_mlp(sizes, base_sizes, seed=3, dtype=torch.float64), their_model(
        sizes, base_sizes, seed=3)
    for (name, p), (name_ref, q) in zip(ours.named_parameters(), theirs.named_parameters(),
                                        strict=True):
        assert name == name_ref and p.shape == q.shape
        assert (p - q).abs().max().item() <= 1e-15, name
    X, _ = data(sizes[0], sizes[-1])
    assert (ours(X) - theirs(X)).abs().max().item() <= 1e-12


@pytest.mark.parametrize("sizes,base_sizes", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("torch_name,kind,kw,package", OPTIMIZERS,
                         ids=[f"{o[0]}-{i}" for i, o in enumerate(OPTIMIZERS)])
def test_training_matches_the_package_over_100_steps(sizes, base_sizes, torch_name, kind, kw,
                                                    package):
    X, y = data(sizes[0], sizes[-1])
    ours = mup_mlp(sizes, base_sizes, seed=1, dtype=torch.float64)
    theirs = their_model(sizes, base_sizes, seed=1)
    start = flat(theirs)
    lr, rest = kw["lr"], {k: v for k, v in kw.items() if k not in ("lr", "weight_decay")}
    opt = getattr(torch.optim, torch_name)(
        mup_param_groups(ours, lr, kind, kw.get("weight_decay", 0.0)), lr=lr, **rest)
    train(ours, opt, X, y)
    train(theirs, package(theirs.parameters(), **kw), X, y)
    assert (flat(ours) - flat(theirs)).abs().max().item() <= TOL
    assert (flat(theirs) - start).abs().max().item() > 1e-3  # it trained


def test_options_of_the_readout_match_the_package():
    sizes, base = (40, 128, 128, 10), (40, 32, 32, 10)
    for kw in (dict(output_mult=2.0), dict(readout_zero_init=True)):
        ours = mup_mlp(sizes, base, seed=2, dtype=torch.float64, **kw)
        theirs = their_model(sizes, base, seed=2, **kw)
        X, y = data(40, 10)
        train(ours, torch.optim.Adam(mup_param_groups(ours, 1e-3, "adam")), X, y, 50)
        train(theirs, mup.MuAdam(theirs.parameters(), lr=1e-3), X, y, 50)
        assert (flat(ours) - flat(theirs)).abs().max().item() <= TOL


def test_at_the_base_widths_mup_is_the_books_model_and_one_learning_rate():
    sizes = (40, 64, 64, 10)
    ours, book = mup_mlp(sizes, sizes, seed=5), mlp(sizes, seed=5)
    for p, q in zip(ours.parameters(), book.parameters(), strict=True):
        assert torch.equal(p, q)
    for kind in ("sgd", "adam"):
        assert all(c == 1.0 for pair in lr_multipliers(sizes, sizes, kind) for c in pair)
        assert {g["lr"] for g in mup_param_groups(ours, 0.1, kind)} == {0.1}


def test_multipliers_follow_the_table():
    """Widths 4× the base: SGD's input and bias rates ×4, readout ×4, hidden ×1; Adam's
    hidden ÷4, everything else ×1 (the table in lrcourse.training.mup, computed by hand)."""
    sizes, base = (40, 256, 256, 10), (40, 64, 64, 10)
    assert lr_multipliers(sizes, base, "sgd") == [(4.0, 4.0), (1.0, 4.0), (4.0, 1.0)]
    assert lr_multipliers(sizes, base, "adam") == [(1.0, 1.0), (0.25, 1.0), (1.0, 1.0)]


@pytest.mark.parametrize("sizes,base,match", [
    ((40, 64, 10), (40, 64, 64, 10), "one base width per layer"),
    ((40, 64, 10), (20, 64, 10), "input and output sizes are not widths"),
    ((40, 64, 10), (40, 64, 5), "input and output sizes are not widths"),
    ((40, 0, 10), (40, 64, 10), "Invalid sizes"),
])
def test_bad_shapes_are_refused(sizes, base, match):
    with pytest.raises(ValueError, match=match):
        mup_mlp(sizes, base)


def test_bad_optimizer_and_model_are_refused():
    with pytest.raises(ValueError, match="Invalid optimizer"):
        lr_multipliers((4, 8, 2), (4, 4, 2), "lion")
    with pytest.raises(ValueError, match="has no base_sizes"):
        mup_param_groups(mlp((4, 8, 2)), 0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        mup_param_groups(mup_mlp((4, 8, 2), (4, 4, 2)), -0.1)
