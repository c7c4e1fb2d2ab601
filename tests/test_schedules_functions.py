"""The pure η(t) functions: the seed articles' forms against the torch classes they name,
vectorisation, and the lr_schedule entry point."""
import math

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as theirs

from lrcourse.schedules import functions as F
from lrcourse.schedules import lr_scheduler as ours


def torch_lrs(cls, steps, base_lr, **kwargs):
    """η_0 … η_(steps−1) from torch's own scheduler class."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = cls(opt, **kwargs)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("eta0,drop,epochs_drop", [(0.1, 0.5, 10), (0.3, 0.1, 7), (1.0, 0.9, 1)])
def test_step_decay_is_torchs_step_lr(eta0, drop, epochs_drop):
    epochs = np.arange(100)
    expected = torch_lrs(theirs.StepLR, 100, eta0, step_size=epochs_drop, gamma=drop)
    np.testing.assert_allclose(F.step_decay(epochs, eta0, drop, epochs_drop), expected, rtol=1e-12)
    np.testing.assert_allclose(F.step_lr(epochs, eta0, epochs_drop, drop), expected, rtol=1e-12)


def test_the_blogs_one_plus_epoch_variant_drops_one_epoch_early():
    ours_ = F.step_decay(np.arange(30), 0.1, 0.5, 10)
    blog = F.step_decay(np.arange(30), 0.1, 0.5, 10, plus_one=True)
    assert np.flatnonzero(ours_ < 0.1)[0] == 10
    assert np.flatnonzero(blog < 0.1)[0] == 9
    np.testing.assert_allclose(blog[:-1], ours_[1:], rtol=1e-15)


@pytest.mark.parametrize("k", [0.0, 0.01, 0.1])
def test_exponential_decay_is_exponential_lr_with_gamma_exp_minus_k(k):
    expected = torch_lrs(theirs.ExponentialLR, 200, 0.1, gamma=math.exp(-k))
    np.testing.assert_allclose(F.exponential_decay(np.arange(200), 0.1, k), expected, rtol=1e-12)


@pytest.mark.parametrize("total", [100, 37, 250])
def test_annealing_example_is_multistep_at_40_and_70_percent(total):
    """0.1 until 40 % of training, 0.01 until 70 %, 0.001 after."""
    t = np.arange(total)
    eta = F.piecewise_constant(t, [0.4 * total, 0.7 * total], [0.1, 0.01, 0.001])
    expected = torch_lrs(theirs.MultiStepLR, total, 0.1,
                         milestones=[math.ceil(0.4 * total), math.ceil(0.7 * total)], gamma=0.1)
    np.testing.assert_allclose(eta, expected, rtol=1e-12)
    assert eta[0] == 0.1 and eta[-1] == 0.001


FUNCTIONS = [
    (F.step_lr, dict(base_lr=0.1, step_size=5)),
    (F.multi_step_lr, dict(base_lr=0.1, milestones=[3, 9])),
    (F.exponential_lr, dict(base_lr=0.1, gamma=0.9)),
    (F.polynomial_lr, dict(base_lr=0.1, total_iters=20, power=2.0)),
    (F.linear_lr, dict(base_lr=0.1, start_factor=0.1, total_iters=10)),
    (F.cosine_annealing, dict(base_lr=0.1, T_max=20, eta_min=1e-3)),
    (F.cosine_annealing_warm_restarts, dict(base_lr=0.1, T_0=4, T_mult=2)),
    (F.cyclic_lr, dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="triangular2")),
    (F.cyclic_momentum, dict(step_size_up=4)),
    (F.one_cycle, dict(max_lr=0.1, total_steps=40, three_phase=True)),
    (F.one_cycle_momentum, dict(total_steps=40)),
    (F.step_decay, dict(eta0=0.1, drop=0.5, epochs_drop=4)),
    (F.exponential_decay, dict(eta0=0.1, k=0.05)),
    (F.piecewise_constant, dict(boundaries=[10, 20], values=[0.1, 0.01, 0.001])),
]


@pytest.mark.parametrize("fn,kwargs", FUNCTIONS, ids=lambda x: getattr(x, "__name__", ""))
def test_vectorised_over_t_and_a_float_for_scalar_t(fn, kwargs):
    t = np.arange(40)
    eta = fn(t, **kwargs)
    assert isinstance(eta, np.ndarray) and eta.shape == (40,)
    assert all(isinstance(fn(int(s), **kwargs), float) and fn(int(s), **kwargs) == eta[s] for s in (0, 7, 39))
    np.testing.assert_array_equal(fn(t.reshape(5, 8), **kwargs), eta.reshape(5, 8))
    np.testing.assert_array_equal(fn(t.astype(float), **kwargs), eta)


def test_lr_schedule_takes_a_class_its_name_or_a_function_name():
    kwargs = dict(T_max=30, eta_min=1e-3)
    expected = torch_lrs(theirs.CosineAnnealingLR, 50, 0.1, **kwargs)
    for spec in ("CosineAnnealingLR", ours.CosineAnnealingLR, theirs.CosineAnnealingLR, "cosine_annealing"):
        np.testing.assert_allclose(F.lr_schedule(spec, 50, 0.1, **kwargs), expected, rtol=1e-12, atol=1e-15)
    assert F.linear_warmup is F.linear_lr


def test_lr_schedule_one_cycle_from_epochs_and_steps_per_epoch():
    a = F.lr_schedule("OneCycleLR", 60, max_lr=0.2, epochs=6, steps_per_epoch=10, cycle_momentum=False)
    b = F.lr_schedule(ours.OneCycleLR, 60, max_lr=0.2, total_steps=60)
    np.testing.assert_array_equal(a, b)
    assert a.max() == pytest.approx(0.2, rel=1e-3) and a[0] == pytest.approx(0.2 / 25)

