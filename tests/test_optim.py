"""lrcourse.optim against torch.optim as an oracle: twin MLPs, same data, 500 steps.

Each optimizer runs on a seeded grid of hyper-parameters (edge cases first, then random
draws), with two parameter groups whose lr and one other setting differ, an lr change in
param_groups mid-run, half of the runs through a closure, in float32 and float64. The
parameters must agree to 1e-6 (float32) and 1e-12 (float64). State dicts saved mid-run must
resume identically, and load across ours and torch's in both directions.
"""

import copy
import io
import math
import random

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import lrcourse.optim as ours

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}
BATCH = 50
STEPS = 500
NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"]


# ---------------------------------------------------------------- the shared problem

def make_problem(dtype, seed=0, n=200, hidden=50):
    """Blob data (X, y) and an MLP 2 → hidden → 3, all drawn from `seed`."""
    g = torch.Generator().manual_seed(seed)
    centers = 3 * torch.randn(3, 2, generator=g, dtype=dtype)
    y = torch.randint(0, 3, (n,), generator=g)
    X = centers[y] + torch.randn(n, 2, generator=g, dtype=dtype)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 3)).to(dtype)
    return X, y, model


def param_groups(model, group1):
    """Two groups: the first layer with the constructor's settings, the last with `group1`."""
    return [{"params": list(model[0].parameters())},
            {"params": list(model[2].parameters()), **group1}]


def train(model, opt, X, y, steps, start=0, closure=False, sign=1.0, lr_changes=None):
    """`steps` optimizer steps from step index `start`; returns the closures' losses.

    sign = −1 trains on −L (used with maximize=True, so that the run still minimizes L).
    lr_changes maps a step index to per-group factors applied to param_groups' lr.
    """
    lr_changes = lr_changes or {}
    losses = []
    n_batches = len(X) // BATCH
    for k in range(start, start + steps):
        i = (k % n_batches) * BATCH
        xb, yb = X[i:i + BATCH], y[i:i + BATCH]

        def loss_fn():
            opt.zero_grad()
            loss = sign * F.cross_entropy(model(xb), yb)
            loss.backward()
            return loss

        for group, factor in zip(opt.param_groups, lr_changes.get(k, ())):
            group["lr"] *= factor
        if closure:
            losses.append(opt.step(loss_fn).item())
        else:
            loss_fn()
            assert opt.step() is None
    return losses


def flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# ---------------------------------------------------------------- the hyper-parameter grid

def _log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _maybe(rng, value, p=0.5, otherwise=0.0):
    return value if rng.random() < p else otherwise


def draw_sgd(rng):
    momentum = _maybe(rng, rng.uniform(0.0, 0.99), 0.7)
    nesterov = momentum > 0 and rng.random() < 0.4
    dampening = 0.0 if nesterov else _maybe(rng, rng.uniform(0.0, 1.0), 0.4)
    kw = dict(lr=_log_uniform(rng, 1e-3, 0.2), momentum=momentum, dampening=dampening,
              weight_decay=_maybe(rng, _log_uniform(rng, 1e-5, 1e-2)), nesterov=nesterov,
              maximize=rng.random() < 0.3)
    return kw, dict(lr=kw["lr"] * _log_uniform(rng, 0.2, 5.0),
                    momentum=momentum if nesterov else rng.uniform(0.0, 0.9))


def draw_adagrad(rng):
    kw = dict(lr=_log_uniform(rng, 1e-3, 0.3), lr_decay=_maybe(rng, _log_uniform(rng, 1e-4, 0.1)),
              weight_decay=_maybe(rng, _log_uniform(rng, 1e-5, 1e-2)),
              initial_accumulator_value=_maybe(rng, rng.uniform(0.0, 1.0)),
              eps=_maybe(rng, _log_uniform(rng, 1e-10, 1e-3), otherwise=1e-10),
              maximize=rng.random() < 0.3)
    return kw, dict(lr=kw["lr"] * _log_uniform(rng, 0.2, 5.0),
                    lr_decay=_log_uniform(rng, 1e-4, 0.1))


def draw_rmsprop(rng):
    kw = dict(lr=_log_uniform(rng, 1e-4, 1e-2), alpha=rng.uniform(0.5, 0.999),
              eps=_log_uniform(rng, 1e-8, 1e-4),
              weight_decay=_maybe(rng, _log_uniform(rng, 1e-5, 1e-2)),
              momentum=_maybe(rng, rng.uniform(0.0, 0.95)), centered=rng.random() < 0.5,
              maximize=rng.random() < 0.3)
    return kw, dict(lr=kw["lr"] * _log_uniform(rng, 0.2, 5.0), centered=not kw["centered"])


def draw_adadelta(rng):
    kw = dict(lr=_log_uniform(rng, 0.1, 2.0), rho=rng.uniform(0.5, 0.99),
              eps=_log_uniform(rng, 1e-8, 1e-4),
              weight_decay=_maybe(rng, _log_uniform(rng, 1e-5, 1e-2)),
              maximize=rng.random() < 0.3)
    return kw, dict(lr=kw["lr"] * _log_uniform(rng, 0.2, 5.0), rho=rng.uniform(0.5, 0.99))


def draw_adam(rng, weight_decay=(1e-5, 1e-2)):
    kw = dict(lr=_log_uniform(rng, 1e-4, 2e-2),
              betas=(_maybe(rng, rng.uniform(0.0, 0.99), 0.8), rng.uniform(0.9, 0.9999)),
              eps=_log_uniform(rng, 1e-8, 1e-4),
              weight_decay=_maybe(rng, _log_uniform(rng, *weight_decay), 0.6),
              amsgrad=rng.random() < 0.5, maximize=rng.random() < 0.3)
    return kw, dict(lr=kw["lr"] * _log_uniform(rng, 0.2, 5.0), amsgrad=not kw["amsgrad"])


DRAW = {"SGD": draw_sgd, "Adagrad": draw_adagrad, "RMSprop": draw_rmsprop,
        "Adadelta": draw_adadelta, "Adam": draw_adam,
        "AdamW": lambda rng: draw_adam(rng, weight_decay=(1e-4, 0.1))}

# Edge cases: (constructor kwargs, group-1 overrides); group 1 always gets its own lr too.
EDGES = {
    "SGD": [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=1e-3, maximize=True)],
    "Adagrad": [dict(), dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1),
                dict(lr=0.05, weight_decay=1e-3, maximize=True)],
    "RMSprop": [dict(lr=1e-3), dict(lr=1e-3, centered=True, momentum=0.9),
                dict(lr=1e-3, momentum=0.5, weight_decay=1e-3, maximize=True)],
    "Adadelta": [dict(), dict(rho=0.5, eps=1e-4, weight_decay=1e-3, maximize=True)],
    "Adam": [dict(), dict(lr=1e-2, amsgrad=True), dict(lr=1e-2, betas=(0.0, 0.99),
                                                       weight_decay=1e-3, maximize=True)],
    "AdamW": [dict(), dict(lr=1e-2, amsgrad=True, weight_decay=0.1, maximize=True)],
}
N_RANDOM = 4


def grid(name):
    configs = [(kw, dict(lr=kw.get("lr", 1e-2) * 0.5)) for kw in EDGES[name]]
    rng = random.Random(f"lrcourse-optim-{name}")
    configs += [DRAW[name](rng) for _ in range(N_RANDOM)]
    return configs


CASES = [pytest.param(name, kw, g1, id=f"{name}-{i}")
         for name in NAMES for i, (kw, g1) in enumerate(grid(name))]


# ---------------------------------------------------------------- oracle tests

@pytest.mark.parametrize("name,kw,group1", CASES)
def test_matches_torch_over_500_steps(name, kw, group1):
    """Same θ as torch.optim after 500 steps, with two groups, an lr change and a closure."""
    closure = len(str(kw)) % 2 == 0  # about half the runs go through step(closure)
    sign = -1.0 if kw.get("maximize") else 1.0
    lr_changes = {200: (0.5, 2.0), 350: (3.0, 0.25)}
    for dtype in (torch.float32, torch.float64):
        X, y, model = make_problem(dtype)
        twin = copy.deepcopy(model)
        opt = getattr(ours, name)(param_groups(model, group1), **kw)
        ref = getattr(torch.optim, name)(param_groups(twin, group1), **kw)
        losses = train(model, opt, X, y, STEPS, closure=closure, sign=sign, lr_changes=lr_changes)
        ref_losses = train(twin, ref, X, y, STEPS, closure=closure, sign=sign,
                           lr_changes=lr_changes)
        theta, theta_ref = flat(model), flat(twin)
        assert torch.isfinite(theta_ref).all()
        assert (theta - theta_ref).abs().max().item() <= TOL[dtype], (name, kw, dtype)
        assert losses == pytest.approx(ref_losses, abs=TOL[dtype], rel=0)
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in ref.param_groups]


def test_training_moves_and_lowers_the_loss():
    """A guard on the oracle itself: the runs above do train (θ moves, L falls)."""
    X, y, model = make_problem(torch.float64)
    theta0 = flat(model)
    loss0 = F.cross_entropy(model(X), y).item()
    train(model, ours.Adam(model.parameters(), lr=1e-2), X, y, 200)
    assert (flat(model) - theta0).abs().max() > 0.05
    assert F.cross_entropy(model(X), y).item() < 0.5 * loss0


# ---------------------------------------------------------------- state dicts

RICH = {  # settings that fill every state key the optimizer has
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "Adagrad": dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1),
    "RMSprop": dict(lr=1e-3, momentum=0.5, centered=True),
    "Adadelta": dict(rho=0.8, weight_decay=1e-3),
    "Adam": dict(lr=1e-2, amsgrad=True, weight_decay=1e-3),
    "AdamW": dict(lr=1e-2, amsgrad=True),
}
HALF = 150


def _save_load(obj):
    """Round-trip through torch.save / torch.load, as a checkpoint would."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _run_split(first_cls, second_cls, name, dtype=torch.float64):
    """HALF steps with first_cls, checkpoint, load into a fresh model + second_cls, HALF more."""
    X, y, model = make_problem(dtype)
    opt = first_cls(param_groups(model, dict(lr=RICH[name].get("lr", 1.0) * 0.5)), **RICH[name])
    train(model, opt, X, y, HALF)
    model_sd, opt_sd = _save_load(model.state_dict()), _save_load(opt.state_dict())
    _, _, fresh = make_problem(dtype, seed=1)  # another init: loading must overwrite it
    fresh.load_state_dict(model_sd)
    # other hyper-parameters on purpose: load_state_dict must restore the saved ones
    opt2 = second_cls(param_groups(fresh, {}), lr=0.123)
    opt2.load_state_dict(opt_sd)
    train(fresh, opt2, X, y, HALF, start=HALF)
    return flat(fresh), opt2


def _run_whole(cls, name, dtype=torch.float64):
    X, y, model = make_problem(dtype)
    opt = cls(param_groups(model, dict(lr=RICH[name].get("lr", 1.0) * 0.5)), **RICH[name])
    train(model, opt, X, y, 2 * HALF)
    return flat(model), opt


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_resumes_identically(name):
    cls = getattr(ours, name)
    whole, opt_whole = _run_whole(cls, name)
    split, opt_split = _run_split(cls, cls, name)
    assert torch.equal(whole, split)
    assert opt_split.param_groups[0]["lr"] == opt_whole.param_groups[0]["lr"] != 0.123
    for s_whole, s_split in zip(opt_whole.state.values(), opt_split.state.values()):
        assert s_whole.keys() == s_split.keys()
        assert s_split.get("step", 2 * HALF) == 2 * HALF


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("direction", ["ours->torch", "torch->ours"])
def test_state_dict_loads_across_implementations(name, direction):
    """A checkpoint of ours continues in torch.optim and vice versa, as torch alone would."""
    mine, theirs = getattr(ours, name), getattr(torch.optim, name)
    first, second = (mine, theirs) if direction == "ours->torch" else (theirs, mine)
    reference, _ = _run_whole(theirs, name)
    crossed, opt2 = _run_split(first, second, name)
    assert (crossed - reference).abs().max().item() <= TOL[torch.float64]
    assert type(opt2) is second


def _as_float(value):
    return value.item() if torch.is_tensor(value) and value.dim() == 0 else value


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("steps", [0, 3])
def test_state_dict_has_torchs_keys_and_values(name, steps):
    """Same param_group keys and values, same state keys per parameter, equal tensors.

    The one difference: our `step` is a Python int, torch's a float32 tensor.
    """
    X, y, model = make_problem(torch.float64)
    twin = copy.deepcopy(model)
    group1 = dict(lr=0.01)
    opt = getattr(ours, name)(param_groups(model, group1), **RICH[name])
    ref = getattr(torch.optim, name)(param_groups(twin, group1), **RICH[name])
    train(model, opt, X, y, steps)
    train(twin, ref, X, y, steps)
    sd, sd_ref = opt.state_dict(), ref.state_dict()
    assert sd["param_groups"] == sd_ref["param_groups"]
    assert sd["state"].keys() == sd_ref["state"].keys()
    for i, st in sd["state"].items():
        st_ref = sd_ref["state"][i]
        assert st.keys() == st_ref.keys()
        for key, value in st.items():
            if key == "step":
                assert isinstance(value, int) and value == _as_float(st_ref[key]) == steps
            else:
                assert torch.equal(value, st_ref[key]), (i, key)


@pytest.mark.parametrize("name", NAMES)
def test_lr_scheduler_drives_ours_like_torch(name):
    """A torch LRScheduler works on ours and changes θ as it does for torch.optim."""
    X, y, model = make_problem(torch.float64)
    twin = copy.deepcopy(model)
    results = []
    for module, net in ((ours, model), (torch.optim, twin)):
        opt = getattr(module, name)(net.parameters(), **RICH[name])
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.7)
        for k in range(100):
            train(net, opt, X, y, 1, start=k)
            sched.step()
        results.append((flat(net), opt.param_groups[0]["lr"]))
    (theta, lr), (theta_ref, lr_ref) = results
    assert lr == lr_ref < RICH[name].get("lr", 1.0)
    assert (theta - theta_ref).abs().max().item() <= TOL[torch.float64]
