"""lrcourse's learning-rate-free optimizers against their official packages, as oracles.

SGDScheduleFree and AdamWScheduleFree against `schedulefree` 1.4.1, Prodigy against
`prodigyopt` 1.1.2, DAdaptAdam and DAdaptSGD against `dadaptation` 3.2 (test dependencies only;
lrcourse never imports them). Each runs on a seeded set of settings (edge cases, then random
draws) with two param groups that differ, in float64, for 120 steps: ours is saved mid-run
(through torch.save), loaded into a fresh optimizer on a fresh copy of the model and run to
the end, the package's runs uninterrupted. θ must agree to 1e-10 at every checkpoint, and the
two state_dicts must agree entry by entry. Schedule-free runs switch to eval() and back every
20 steps, and both points (x in eval mode, y in train mode) are compared.
Signatures, defaults and the messages of bad arguments are compared with the packages'.
"""
import copy
import inspect
import io
import math
import random

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import lrcourse
import lrcourse.optim as ours

dadaptation = pytest.importorskip("dadaptation")
prodigyopt = pytest.importorskip("prodigyopt")
schedulefree = pytest.importorskip("schedulefree")

TOL = 1e-10
STEPS, SAVE_AT, EVAL_EVERY, BATCH = 120, 57, 20, 40
THEIRS = {"SGDScheduleFree": schedulefree.SGDScheduleFree,
          "AdamWScheduleFree": schedulefree.AdamWScheduleFree,
          "Prodigy": prodigyopt.Prodigy,
          "DAdaptAdam": dadaptation.DAdaptAdam, "DAdaptSGD": dadaptation.DAdaptSGD}
NAMES = list(THEIRS)
SCHEDULE_FREE = {"SGDScheduleFree", "AdamWScheduleFree"}


# ---------------------------------------------------------------- the shared problem

def make_problem(seed=0, n=200):
    """Blobs in 6-D, 3 classes, and an MLP 6 → 16 → 16 → 3 in float64 (last bias zero, so
    Prodigy's zero-θ₀ shortcut runs too)."""
    g = torch.Generator().manual_seed(seed)
    centers = 2 * torch.randn(3, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=g)
    X = centers[y] + torch.randn(n, 6, generator=g, dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                              nn.Linear(16, 3)).double()
    with torch.no_grad():
        model[4].bias.zero_()
    return X, y, model


def groups(model, group1):
    """Two groups: the first layer with the constructor's settings, the rest with `group1`."""
    rest = list(model[2].parameters()) + list(model[4].parameters())
    return [{"params": list(model[0].parameters())}, {"params": rest, **group1}]


def batch(X, y, k):
    i = (k % (len(X) // BATCH)) * BATCH
    return X[i:i + BATCH], y[i:i + BATCH]


def run(model, opt, X, y, start, stop, closure, schedule_free):
    """Steps start … stop − 1; schedule-free optimizers visit eval() every EVAL_EVERY steps.
    Returns the loss of every step and θ in eval mode (x) at every visit."""
    losses, at_eval = [], []
    for k in range(start, stop):
        if schedule_free and k % EVAL_EVERY == 0:
            opt.eval()
            at_eval.append(flat(model))
            opt.train()
        xb, yb = batch(X, y, k)

        def loss_fn():
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            return loss

        if closure:
            losses.append(opt.step(loss_fn).item())
        else:
            losses.append(loss_fn().item())
            opt.step()
    return losses, at_eval


def flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def through_disk(state_dict):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer)


def assert_same_state(mine, theirs):
    """Same group keys and values, same per-parameter state (tensors to TOL, relative to
    their size when it exceeds 1)."""
    assert len(mine["param_groups"]) == len(theirs["param_groups"])
    for a, b in zip(mine["param_groups"], theirs["param_groups"]):
        assert set(a) == set(b)
        for key in a:
            if isinstance(a[key], float) and isinstance(b[key], float) and math.isfinite(b[key]):
                assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-300), key
            else:
                assert a[key] == b[key], key
    assert set(mine["state"]) == set(theirs["state"])
    for i, state in mine["state"].items():
        assert set(state) == set(theirs["state"][i])
        for key, value in state.items():
            other = theirs["state"][i][key]
            if torch.is_tensor(value):
                assert value.shape == other.shape, key
                scale = max(1.0, other.abs().max().item())  # Prodigy's s grows as d/d₀
                assert (value - other).abs().max().item() <= TOL * scale, key
            else:
                assert value == other, key


# ---------------------------------------------------------------- the settings

def _log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _maybe(rng, value, p=0.5, otherwise=0.0):
    return value if rng.random() < p else otherwise


def draw_sgd_sf(rng):
    kw = dict(lr=_log_uniform(rng, 0.05, 1.0), momentum=rng.uniform(0.5, 0.98),
              weight_decay=_maybe(rng, _log_uniform(rng, 1e-5, 1e-2)),
              warmup_steps=rng.choice([0, 5, 30]), r=_maybe(rng, rng.uniform(0.0, 2.0)),
              weight_lr_power=rng.choice([0.0, 1.0, 2]))
    return kw, dict(lr=kw["lr"] * _log_uniform(rng, 0.3, 3.0), momentum=rng.uniform(0.5, 0.95),
                    weight_decay=_log_uniform(rng, 1e-5, 1e-2))


def draw_adamw_sf(rng):
    kw = dict(lr=_log_uniform(rng, 1e-3, 3e-2), betas=(rng.uniform(0.5, 0.98),
                                                       rng.uniform(0.9, 0.9999)),
              eps=_log_uniform(rng, 1e-8, 1e-4), weight_decay=_maybe(rng, rng.uniform(0, 0.1)),
              warmup_steps=rng.choice([0, 5, 30]), r=_maybe(rng, rng.uniform(0.0, 2.0)),
              weight_lr_power=rng.choice([0.0, 1.0, 2.0]))
    return kw, dict(lr=kw["lr"] * _log_uniform(rng, 0.3, 3.0),
                    betas=(rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.999)),
                    eps=_log_uniform(rng, 1e-8, 1e-4))


def draw_prodigy(rng):
    beta2 = rng.uniform(0.9, 0.999)
    kw = dict(lr=rng.uniform(0.3, 1.0), betas=(_maybe(rng, rng.uniform(0.5, 0.95), 0.8), beta2),
              beta3=_maybe(rng, rng.uniform(0.9, 0.999), otherwise=None),
              eps=_log_uniform(rng, 1e-8, 1e-5), weight_decay=_maybe(rng, rng.uniform(0, 0.1)),
              decouple=rng.random() < 0.6, use_bias_correction=rng.random() < 0.5,
              safeguard_warmup=rng.random() < 0.5, d0=_log_uniform(rng, 1e-6, 1e-3),
              d_coef=rng.uniform(0.3, 1.0), growth_rate=rng.choice([float("inf"), 1.05]),
              slice_p=rng.choice([1, 3]))
    return kw, dict(weight_decay=_maybe(rng, rng.uniform(0, 0.1)), eps=_log_uniform(rng, 1e-8, 1e-5),
                    safeguard_warmup=rng.random() < 0.5, slice_p=rng.choice([1, 2]))


def draw_dadapt_adam(rng):
    kw = dict(lr=rng.uniform(0.3, 1.0), betas=(rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.999)),
              eps=_log_uniform(rng, 1e-8, 1e-5), weight_decay=_maybe(rng, rng.uniform(0, 0.1)),
              decouple=rng.random() < 0.5, use_bias_correction=rng.random() < 0.5,
              d0=_log_uniform(rng, 1e-6, 1e-3), growth_rate=rng.choice([float("inf"), 1.05]))
    return kw, dict(layer_scale=rng.uniform(0.5, 2.0), eps=_log_uniform(rng, 1e-8, 1e-5),
                    weight_decay=_maybe(rng, rng.uniform(0, 0.1)))


def draw_dadapt_sgd(rng):
    kw = dict(lr=rng.uniform(0.3, 1.0), momentum=_maybe(rng, rng.uniform(0.5, 0.95), 0.7),
              weight_decay=_maybe(rng, _log_uniform(rng, 1e-5, 1e-2)),
              d0=_log_uniform(rng, 1e-6, 1e-3), growth_rate=rng.choice([float("inf"), 1.05]))
    return kw, dict(momentum=rng.uniform(0.0, 0.9), weight_decay=_log_uniform(rng, 1e-5, 1e-2))


DRAW = {"SGDScheduleFree": draw_sgd_sf, "AdamWScheduleFree": draw_adamw_sf,
        "Prodigy": draw_prodigy, "DAdaptAdam": draw_dadapt_adam, "DAdaptSGD": draw_dadapt_sgd}

# Edge cases: (constructor kwargs, group-1 overrides); the defaults come first.
EDGES = {
    "SGDScheduleFree": [(dict(lr=0.5), dict(lr=0.25)),
                        (dict(lr=0.5, warmup_steps=40, weight_decay=1e-3), dict(momentum=0.5)),
                        (dict(lr=0.5, weight_lr_power=0.0, r=1.0), dict(lr=0.0)),
                        (dict(lr=0.5, warmup_steps=3), dict(lr=0.0))],  # Σ weights = 0: c = 0
    "AdamWScheduleFree": [(dict(), dict(lr=0.01)),
                          (dict(lr=1e-2, warmup_steps=40, weight_decay=0.05),
                           dict(betas=(0.5, 0.99))),
                          (dict(lr=1e-2, weight_lr_power=0.0, r=1.0), dict(lr=0.0))],
    "Prodigy": [(dict(), dict()), (dict(betas=(0.0, 0.999)), dict(weight_decay=0.01)),
                (dict(weight_decay=0.05, decouple=False, use_bias_correction=True),
                 dict(lr=0.0)),
                (dict(safeguard_warmup=True, growth_rate=1.02, slice_p=2), dict(d0=1e-5))],
    "DAdaptAdam": [(dict(), dict()), (dict(decouple=True, weight_decay=0.05), dict(lr=0.0)),
                   (dict(use_bias_correction=True, growth_rate=1.02), dict(layer_scale=0.5))],
    "DAdaptSGD": [(dict(), dict()), (dict(momentum=0.9, weight_decay=1e-3), dict(lr=0.0)),
                  (dict(momentum=0.5, growth_rate=1.02), dict())],
}
N_RANDOM = 4


def grid(name):
    rng = random.Random(f"lrcourse-lr-free-{name}")
    return EDGES[name] + [DRAW[name](rng) for _ in range(N_RANDOM)]


CASES = [pytest.param(name, kw, g1, id=f"{name}-{i}")
         for name in NAMES for i, (kw, g1) in enumerate(grid(name))]


# ---------------------------------------------------------------- oracle tests

def reference_run(name, kw, group1, closure):
    """The package's optimizer, uninterrupted; θ (and state_dict) at SAVE_AT and at the end."""
    X, y, model = make_problem()
    opt = THEIRS[name](groups(model, group1), **kw)
    sf = name in SCHEDULE_FREE
    if sf:
        opt.train()
    losses, evals = run(model, opt, X, y, 0, SAVE_AT, closure, sf)
    if sf:
        opt.eval()
    middle = (flat(model), copy.deepcopy(opt.state_dict()))
    if sf:
        opt.train()
    more, more_evals = run(model, opt, X, y, SAVE_AT, STEPS, closure, sf)
    if sf:
        opt.eval()
    return middle, losses + more, evals + more_evals, flat(model)


def our_run(name, kw, group1, closure):
    """Ours, saved at SAVE_AT (in eval mode, as schedule-free asks), resumed on fresh copies."""
    X, y, model = make_problem()
    opt = getattr(ours, name)(groups(model, group1), **kw)
    sf = name in SCHEDULE_FREE
    if sf:
        opt.train()
    losses, evals = run(model, opt, X, y, 0, SAVE_AT, closure, sf)
    if sf:
        opt.eval()
    middle = (flat(model), copy.deepcopy(opt.state_dict()))
    saved_model, saved_opt = through_disk(model.state_dict()), through_disk(opt.state_dict())
    del model, opt
    _, _, fresh = make_problem(seed=1)  # other weights, overwritten by the checkpoint
    fresh.load_state_dict(saved_model)
    opt = getattr(ours, name)(groups(fresh, group1), **kw)
    opt.load_state_dict(saved_opt)
    if sf:
        opt.train()
    more, more_evals = run(fresh, opt, X, y, SAVE_AT, STEPS, closure, sf)
    if sf:
        opt.eval()
    return middle, losses + more, evals + more_evals, flat(fresh)


def gap(a, b):
    return (a - b).abs().max().item()


@pytest.mark.parametrize("name,kw,group1", CASES)
def test_matches_the_package_over_120_steps_with_a_reload(name, kw, group1):
    closure = len(str(kw)) % 2 == 0  # about half the runs go through step(closure)
    (theta_mid, sd_mid), losses, evals, theta = our_run(name, kw, group1, closure)
    (ref_mid, ref_sd_mid), ref_losses, ref_evals, ref_theta = reference_run(name, kw, group1,
                                                                           closure)
    assert torch.isfinite(ref_theta).all()
    assert gap(ref_theta, flat(make_problem()[2])) > 1e-4  # it trained
    assert gap(theta_mid, ref_mid) <= TOL
    assert_same_state(sd_mid, ref_sd_mid)
    assert gap(theta, ref_theta) <= TOL, (name, kw, group1)
    assert losses == pytest.approx(ref_losses, abs=TOL, rel=0)
    for x, ref_x in zip(evals, ref_evals, strict=True):
        assert gap(x, ref_x) <= TOL


@pytest.mark.parametrize("name", NAMES)
def test_a_state_dict_of_ours_loads_into_theirs_and_back(name):
    """Mid-run checkpoints cross over in both directions and the runs stay equal."""
    kw, group1 = EDGES[name][1]
    sf = name in SCHEDULE_FREE
    X, y, start = make_problem()
    finals = []
    for first, second in ((getattr(ours, name), THEIRS[name]), (THEIRS[name], getattr(ours, name))):
        model = copy.deepcopy(start)
        opt = first(groups(model, group1), **kw)
        if sf:
            opt.train()
        run(model, opt, X, y, 0, 30, False, sf)
        if sf:
            opt.eval()
        saved = through_disk(opt.state_dict())
        opt = second(groups(model, group1), **kw)
        opt.load_state_dict(saved)
        if sf:
            opt.train()
        run(model, opt, X, y, 30, 60, False, sf)
        finals.append(flat(model))
    assert gap(*finals) <= TOL
    assert gap(finals[0], flat(start)) > 1e-3


# ---------------------------------------------------------------- the surface

def _params():
    return [nn.Parameter(torch.ones(3, dtype=torch.float64))]


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_defaults_are_the_packages(name):
    def spec(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]
    assert spec(getattr(ours, name)) == spec(THEIRS[name])
    assert issubclass(getattr(ours, name), torch.optim.Optimizer)
    assert getattr(lrcourse, name) is getattr(ours, name)
    mine, theirs = getattr(ours, name)(_params()), THEIRS[name](_params())
    assert mine.defaults == theirs.defaults


BAD = [
    ("SGDScheduleFree", dict(lr=-1.0)), ("SGDScheduleFree", dict(weight_decay=-0.1)),
    ("SGDScheduleFree", dict(momentum=0.0)), ("SGDScheduleFree", dict(momentum=1.0)),
    ("SGDScheduleFree", dict(momentum=-0.5)), ("SGDScheduleFree", dict(lr=-1.0, momentum=2.0)),
    ("Prodigy", dict(d0=0.0)), ("Prodigy", dict(lr=0.0)), ("Prodigy", dict(lr=-1.0)),
    ("Prodigy", dict(eps=0.0)), ("Prodigy", dict(betas=(1.0, 0.999))),
    ("Prodigy", dict(betas=(-0.1, 0.999))), ("Prodigy", dict(betas=(0.9, 1.0))),
    ("Prodigy", dict(d0=-1.0, lr=-1.0)),
    ("DAdaptAdam", dict(d0=0.0)), ("DAdaptAdam", dict(lr=0.0)), ("DAdaptAdam", dict(eps=-1e-8)),
    ("DAdaptAdam", dict(betas=(1.0, 0.999))), ("DAdaptAdam", dict(betas=(0.9, 1.5))),
    ("DAdaptSGD", dict(d0=-1e-6)), ("DAdaptSGD", dict(lr=0.0)), ("DAdaptSGD", dict(lr=-2.0)),
]


def _error(cls, *args, **kw):
    try:
        cls(*args, **kw)
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize("name,kw", BAD, ids=[f"{n}-{sorted(k.items())}" for n, k in BAD])
def test_bad_arguments_raise_the_packages_message(name, kw):
    mine, theirs = _error(getattr(ours, name), _params(), **kw), _error(THEIRS[name], _params(), **kw)
    assert theirs is not None and theirs[0] is ValueError
    assert mine == theirs
    with pytest.raises(ValueError, match=r"^Invalid|^Momentum must be"):
        getattr(ours, name)(_params(), **kw)


def test_adamw_schedule_free_validates_nothing_like_the_package():
    for kw in (dict(lr=-1.0), dict(betas=(1.5, 0.999)), dict(eps=-1.0), dict(weight_decay=-1.0)):
        assert _error(ours.AdamWScheduleFree, _params(), **kw) is None
        assert _error(THEIRS["AdamWScheduleFree"], _params(), **kw) is None


@pytest.mark.parametrize("name", ["Prodigy", "DAdaptAdam", "DAdaptSGD"])
def test_different_lrs_across_groups_are_refused_at_step(name):
    def message(cls):
        a, b = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(2))
        opt = cls([{"params": [a]}, {"params": [b], "lr": 0.5}])
        (a.sum() + b.sum()).backward()
        with pytest.raises(RuntimeError) as info:
            opt.step()
        return str(info.value)
    assert message(getattr(ours, name)) == message(THEIRS[name])
    assert "different lr values" in message(getattr(ours, name))


@pytest.mark.parametrize("name", sorted(SCHEDULE_FREE))
def test_step_outside_train_mode_is_refused_with_the_packages_message(name):
    def message(cls):
        p = nn.Parameter(torch.ones(3))
        opt = cls([p])
        p.sum().backward()
        with pytest.raises(Exception) as info:  # the package raises a bare Exception
            opt.step()
        return str(info.value)
    mine = message(getattr(ours, name))
    assert mine == message(THEIRS[name])
    assert mine.startswith("Optimizer was not in train mode")


@pytest.mark.parametrize("name", ["Prodigy", "DAdaptAdam", "DAdaptSGD"])
def test_sharded_training_is_refused(name):
    with pytest.raises(ValueError, match="does not support fsdp_in_use=True"):
        getattr(ours, name)(_params(), fsdp_in_use=True)


def test_schedule_free_eval_and_train_are_inverse_and_move_to_the_average():
    """After eval() θ is x = y/β + (1 − 1/β)·z, computed here from the state directly."""
    X, y, model = make_problem()
    opt = ours.SGDScheduleFree(model.parameters(), lr=0.5, momentum=0.8)
    opt.train()
    run(model, opt, X, y, 0, 10, False, False)
    y_point = flat(model)
    z = torch.cat([opt.state[p]["z"].flatten() for p in model.parameters()])
    opt.eval()
    assert gap(flat(model), y_point / 0.8 + (1 - 1 / 0.8) * z) <= 1e-12
    assert gap(flat(model), y_point) > 1e-4
    opt.train()
    assert gap(flat(model), y_point) <= 1e-12


@pytest.mark.parametrize("name", ["Prodigy", "DAdaptAdam"])
def test_a_step_without_gradient_signal_leaves_theta_where_the_package_does(name):
    """All-zero gradients at the first step: ‖s‖₁ = 0, so the step returns before moving θ
    (the state is created, the counters do not advance); training then goes on alike."""
    finals = []
    for cls in (getattr(ours, name), THEIRS[name]):
        X, y, model = make_problem()
        before = flat(model)
        opt = cls(groups(model, {}))
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
        assert torch.equal(flat(model), before)
        assert opt.param_groups[0]["k"] == 0 and "d_hat" not in opt.param_groups[0]
        run(model, opt, X, y, 0, 10, False, False)
        finals.append((flat(model), opt.state_dict()))
    assert gap(finals[0][0], finals[1][0]) <= TOL
    assert gap(finals[0][0], before) > 0
    assert_same_state(finals[0][1], finals[1][1])


def test_dadapt_sgd_with_a_zero_first_gradient_fails_like_the_package():
    """‖g₀‖ = 0 divides by zero in both (the step size is d·η/‖g₀‖)."""
    for cls in (ours.DAdaptSGD, THEIRS["DAdaptSGD"]):
        p = nn.Parameter(torch.ones(3, dtype=torch.float64))
        opt = cls([p])
        p.grad = torch.zeros_like(p)
        with pytest.raises(ZeroDivisionError, match="division by zero"):
            opt.step()
