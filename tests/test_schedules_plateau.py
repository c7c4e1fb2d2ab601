"""ReduceLROnPlateau: ours against torch's on seeded metric streams with plateaus (both modes,
both threshold modes, cooldown, min_lr), its function form, and Keras' rules beside torch's."""
import copy
import pickle

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as theirs

from lrcourse.schedules import functions as F
from lrcourse.schedules import lr_scheduler as ours


def metric_stream(seed, n=200, mode="min"):
    """A validation-loss-like stream: runs of improvement, exact plateaus and noisy plateaus
    (changes of ~0.3 %, near the thresholds). mode "max": 2 − loss, rising like an accuracy."""
    rng = np.random.default_rng([31, seed])
    level, out = 1.0, []
    while len(out) < n:
        kind, length = int(rng.integers(3)), int(rng.integers(1, 15))
        for _ in range(length):
            if kind == 0:
                level *= 1 - rng.uniform(0, 0.05)
                out.append(level)
            elif kind == 1:
                out.append(level)
            else:
                out.append(level * (1 + rng.normal(0, 0.003)))
    out = np.array(out[:n])
    return out if mode == "min" else 2.0 - out


def draw(seed, threshold_mode):
    rng = np.random.default_rng([32, seed])
    n = 1 + seed % 3
    lrs = [float(10 ** rng.uniform(-2, 0)) for _ in range(n)]
    min_lr = [lr * float(10 ** rng.uniform(-4, -1)) for lr in lrs] if rng.random() < 0.5 \
        else float(10 ** rng.uniform(-5, -3))
    kwargs = dict(factor=float(rng.uniform(0.1, 0.9)), patience=int(rng.integers(0, 6)),
                  threshold=float(10 ** rng.uniform(-4, -2)) if threshold_mode == "rel" else float(rng.uniform(0, 0.01)),
                  threshold_mode=threshold_mode, cooldown=int(rng.integers(0, 4)), min_lr=min_lr)
    return lrs, kwargs


def sgd(lrs):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def drive(opt, sched, metrics, as_tensor=False):
    rows = []
    for m in metrics:
        opt.step()
        sched.step(torch.tensor(m) if as_tensor else m)
        rows.append([g["lr"] for g in opt.param_groups] + [sched.best, sched.num_bad_epochs, sched.cooldown_counter])
    return np.array(rows)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_plateau_equals_torch_and_its_function_form(mode, threshold_mode, seed):
    lrs, kwargs = draw(seed, threshold_mode)
    metrics = metric_stream(seed, mode=mode)
    opt = sgd(lrs)
    mine = drive(opt, ours.ReduceLROnPlateau(opt, mode=mode, **kwargs), metrics, as_tensor=seed % 2 == 1)
    opt = sgd(lrs)
    expected = drive(opt, theirs.ReduceLROnPlateau(opt, mode=mode, **kwargs), metrics)
    np.testing.assert_allclose(mine, expected, rtol=0, atol=1e-12)
    n = len(lrs)
    assert all(len(np.unique(expected[:, i])) >= 3 for i in range(n))  # it did reduce, several times
    for i, base_lr in enumerate(lrs):
        kw = dict(kwargs, min_lr=kwargs["min_lr"][i] if isinstance(kwargs["min_lr"], list) else kwargs["min_lr"])
        eta = F.lr_schedule("ReduceLROnPlateau", len(metrics), base_lr, metrics=metrics, mode=mode, **kw)
        np.testing.assert_allclose(eta, expected[:, i], rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_plateau_state_dict_resumes_identically(seed):
    lrs, kwargs = draw(seed, "rel" if seed % 2 else "abs")
    metrics = metric_stream(seed)
    opt = sgd(lrs)
    expected = drive(opt, theirs.ReduceLROnPlateau(opt, **kwargs), metrics)
    for source in (ours, theirs):
        opt = sgd(lrs)
        sched = source.ReduceLROnPlateau(opt, **kwargs)
        first = drive(opt, sched, metrics[:77])
        opt_state, sched_state = copy.deepcopy(opt.state_dict()), pickle.loads(pickle.dumps(sched.state_dict()))
        opt = sgd(lrs)
        fresh = ours.ReduceLROnPlateau(opt, **kwargs)
        opt.load_state_dict(opt_state)
        fresh.load_state_dict(sched_state)
        rest = drive(opt, fresh, metrics[77:])
        np.testing.assert_allclose(np.vstack([first, rest]), expected, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ Keras' rules
def torch_lrs(metrics, base_lr, **kwargs):
    """torch's own ReduceLROnPlateau (not ours), one group."""
    opt = sgd([base_lr])
    sched = theirs.ReduceLROnPlateau(opt, **kwargs)
    return drive(opt, sched, metrics)[:, 0]


def first_reduction(lrs):
    return int(np.flatnonzero(lrs < lrs[0])[0])


def test_keras_reduces_one_epoch_earlier_with_the_same_patience():
    """The seeds' callback (factor 0.5, patience 3, min_lr 1e-6) on a loss that stops improving
    after epoch 0: Keras reduces after epochs 1, 2, 3 (wait ≥ 3), torch after 1…4 (bad > 3)."""
    metrics = [1.0] * 12
    keras = F.keras_reduce_lr_on_plateau(metrics, 0.1, factor=0.5, patience=3, min_delta=1e-4, min_lr=1e-6)
    torch_same = torch_lrs(metrics, 0.1, factor=0.5, patience=3, threshold=1e-4, threshold_mode="abs", min_lr=1e-6)
    assert first_reduction(keras) == 3
    assert first_reduction(torch_same) == 4
    assert keras[3] == torch_same[4] == pytest.approx(0.05)


@pytest.mark.parametrize("seed", range(8))
def test_torch_patience_p_cooldown_c_is_keras_patience_p_plus_1_cooldown_c_plus_1(seed):
    rng = np.random.default_rng([33, seed])
    metrics = metric_stream(100 + seed, n=250)
    p, c = int(rng.integers(0, 6)), int(rng.integers(0, 4))
    factor, delta = float(rng.uniform(0.2, 0.8)), float(rng.uniform(0, 5e-3))
    torch_eta = torch_lrs(metrics, 0.1, factor=factor, patience=p, cooldown=c, threshold=delta,
                          threshold_mode="abs", min_lr=1e-6)
    keras = lambda patience, cooldown: F.keras_reduce_lr_on_plateau(
        metrics, 0.1, factor=factor, patience=patience, min_delta=delta, cooldown=cooldown, min_lr=1e-6)
    assert len(np.unique(torch_eta)) >= 4
    np.testing.assert_allclose(keras(p + 1, c + 1), torch_eta, rtol=1e-12)
    if p > 0:  # same patience: Keras is early (at p = 0 it is not: Keras 0 acts as Keras 1)
        assert not np.allclose(keras(p, c + 1), torch_eta, rtol=1e-12, atol=0)
    if c > 0:  # same cooldown: Keras resumes counting one epoch early
        assert not np.allclose(keras(p + 1, c), torch_eta, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(4))
def test_keras_patience_0_is_patience_1_and_cooldown_0_is_cooldown_1(seed):
    metrics = metric_stream(200 + seed)
    run = lambda patience, cooldown: F.keras_reduce_lr_on_plateau(
        metrics, 0.1, factor=0.5, patience=patience, cooldown=cooldown, min_lr=1e-6)
    np.testing.assert_array_equal(run(0, 2), run(1, 2))
    np.testing.assert_array_equal(run(3, 0), run(3, 1))
    assert not np.array_equal(run(3, 1), run(3, 2))


def test_seeds_callback_reaches_min_lr_in_both_and_stays():
    """Keras(factor=0.5, patience=3, min_lr=1e-6) ≡ torch(factor=0.5, patience=2,
    threshold_mode="abs", min_lr=1e-6) on a long stall: both clip at min_lr = 1e-6."""
    metrics = list(np.linspace(1.0, 0.5, 20)) + [0.5] * 200
    keras = F.keras_reduce_lr_on_plateau(metrics, 1e-3, factor=0.5, patience=3, min_lr=1e-6)
    torch_eta = torch_lrs(metrics, 1e-3, factor=0.5, patience=2, threshold=1e-4, threshold_mode="abs", min_lr=1e-6)
    np.testing.assert_allclose(keras, torch_eta, rtol=1e-12)
    assert keras[-1] == 1e-6 and keras[-60] == 1e-6
    assert np.all(np.diff(keras) <= 0)


def test_torch_eps_stops_small_reductions_keras_goes_on():
    """min_lr = 0, η_0 = 1e-6, factor 0.5: torch skips a reduction once it would lower η by
    ≤ eps = 1e-8, so η stays at 1e-6/2^6 ≈ 1.6e-8; Keras keeps halving."""
    metrics = [1.0] * 60
    torch_eta = torch_lrs(metrics, 1e-6, factor=0.5, patience=0, threshold_mode="abs", min_lr=0.0)
    keras = F.keras_reduce_lr_on_plateau(metrics, 1e-6, factor=0.5, patience=1, min_lr=0.0)
    assert torch_eta[-1] == pytest.approx(1e-6 / 2 ** 6)
    assert torch_eta[-1] * 0.5 <= 1e-8 < (2 * torch_eta[-1]) * 0.5  # the next cut would be ≤ eps
    assert keras[-1] < torch_eta[-1] * 1e-12
    opt = sgd([1e-6])  # ours follows torch's eps rule, the class and the function
    mine = drive(opt, ours.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold_mode="abs"), metrics)[:, 0]
    np.testing.assert_array_equal(mine, torch_eta)
    np.testing.assert_array_equal(F.reduce_lr_on_plateau(metrics, 1e-6, factor=0.5, patience=0,
                                                         threshold_mode="abs"), torch_eta)
    first_difference = int(np.flatnonzero(torch_eta != keras)[0])
    np.testing.assert_array_equal(torch_eta[:first_difference], keras[:first_difference])
    assert torch_eta[first_difference - 1] == pytest.approx(1e-6 / 2 ** 6)  # they part where eps binds
