"""lrcourse.schedules keeps torch 2.13's signatures, rejects invalid arguments with
ValueError (in torch's words where torch checks), and shares torch's step-ordering pitfall."""
import inspect
import warnings

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as theirs

from lrcourse.schedules import functions as F
from lrcourse.schedules import lr_scheduler as ours

CLASSES = ["StepLR", "MultiStepLR", "ExponentialLR", "PolynomialLR", "LinearLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR", "ReduceLROnPlateau"]


def sgd(n=2, lr=0.1):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(2))]} for _ in range(n)],
                           lr=lr, momentum=0.9)


def _params(fn):
    return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", CLASSES)
def test_signatures_and_defaults_are_torchs(name):
    mine, torchs = getattr(ours, name), getattr(theirs, name)
    assert issubclass(mine, theirs.LRScheduler)
    assert _params(mine.__init__) == _params(torchs.__init__)
    assert _params(mine.step) == _params(torchs.step)


# torch checks these too: same exception type and the same message
SAME_AS_TORCH = {
    "LinearLR start_factor=0": lambda m, o: m.LinearLR(o, start_factor=0),
    "LinearLR start_factor>1": lambda m, o: m.LinearLR(o, start_factor=1.5),
    "LinearLR end_factor>1": lambda m, o: m.LinearLR(o, end_factor=1.5),
    "SGDR T_0=0": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
    "SGDR T_0 float": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5),
    "SGDR T_mult=0": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0),
    "SGDR eta_min str": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, eta_min="0"),
    "CyclicLR mode": lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="square"),
    "CyclicLR max_lr length": lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2, 0.3]),
    "CyclicLR no momentum": lambda m, o: m.CyclicLR(torch.optim.Adagrad(o.param_groups[0]["params"]), 0.01, 0.1),
    "OneCycleLR total_steps=0": lambda m, o: m.OneCycleLR(o, 0.1, total_steps=0),
    "OneCycleLR no length": lambda m, o: m.OneCycleLR(o, 0.1),
    "OneCycleLR epochs=0": lambda m, o: m.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=5),
    "OneCycleLR steps_per_epoch<0": lambda m, o: m.OneCycleLR(o, 0.1, epochs=3, steps_per_epoch=-1),
    "OneCycleLR pct_start>1": lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5),
    "OneCycleLR pct_start int": lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, pct_start=0),
    "OneCycleLR anneal": lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"),
    "Plateau factor=1": lambda m, o: m.ReduceLROnPlateau(o, factor=1.0),
    "Plateau mode": lambda m, o: m.ReduceLROnPlateau(o, mode="avg"),
    "Plateau threshold_mode": lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="pct"),
    "Plateau min_lr length": lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.0, 0.0, 0.0]),
    "Sequential no scheduler": lambda m, o: m.SequentialLR(o, [], milestones=[]),
    "Sequential milestones": lambda m, o: m.SequentialLR(o, [m.StepLR(o, 3), m.ExponentialLR(o, 0.9)], milestones=[]),
    "Sequential other optimizer": lambda m, o: m.SequentialLR(o, [m.StepLR(o, 3), m.StepLR(sgd(), 3)], milestones=[5]),
    "Sequential plateau": lambda m, o: m.SequentialLR(o, [m.StepLR(o, 3), m.ReduceLROnPlateau(o)], milestones=[5]),
}


@pytest.mark.parametrize("case", list(SAME_AS_TORCH))
def test_invalid_arguments_raise_torchs_value_error(case):
    with pytest.raises(ValueError) as torch_error:
        SAME_AS_TORCH[case](theirs, sgd())
    with pytest.raises(ValueError) as our_error:
        SAME_AS_TORCH[case](ours, sgd())
    if case != "Sequential other optimizer":  # that message prints two different optimizer objects
        assert str(our_error.value) == str(torch_error.value)


# torch accepts these (or fails later with another error): ours stops at the boundary
OURS_ONLY = {
    "StepLR step_size=0": (lambda o: ours.StepLR(o, 0), "step_size"),
    "StepLR step_size<0": (lambda o: ours.StepLR(o, -3), "step_size"),
    "StepLR step_size float": (lambda o: ours.StepLR(o, 2.5), "step_size"),
    "StepLR gamma=0": (lambda o: ours.StepLR(o, 5, gamma=0.0), "gamma"),
    "MultiStepLR decreasing": (lambda o: ours.MultiStepLR(o, [30, 10]), "non-decreasing"),
    "MultiStepLR gamma<0": (lambda o: ours.MultiStepLR(o, [10], gamma=-0.1), "gamma"),
    "ExponentialLR gamma=0": (lambda o: ours.ExponentialLR(o, 0.0), "gamma"),
    "ExponentialLR gamma nan": (lambda o: ours.ExponentialLR(o, float("nan")), "gamma"),
    "PolynomialLR total_iters=0": (lambda o: ours.PolynomialLR(o, total_iters=0), "total_iters"),
    "PolynomialLR power<0": (lambda o: ours.PolynomialLR(o, power=-1.0), "power"),
    "LinearLR total_iters=0": (lambda o: ours.LinearLR(o, total_iters=0), "total_iters"),
    "Cosine T_max=0": (lambda o: ours.CosineAnnealingLR(o, T_max=0), "T_max"),
    "Cosine eta_min<0": (lambda o: ours.CosineAnnealingLR(o, T_max=10, eta_min=-1e-3), "learning rate"),
    "CyclicLR step_size_up=0": (lambda o: ours.CyclicLR(o, 0.01, 0.1, step_size_up=0), "step_size_up"),
    "CyclicLR base_lr<0": (lambda o: ours.CyclicLR(o, -0.01, 0.1), "learning rate"),
    "CyclicLR scale_mode": (lambda o: ours.CyclicLR(o, 0.01, 0.1, scale_fn=lambda x: 1.0, scale_mode="epoch"), "scale_mode"),
    "CyclicLR gamma=0": (lambda o: ours.CyclicLR(o, 0.01, 0.1, mode="exp_range", gamma=0.0), "gamma"),
    "CyclicLR momentum>1": (lambda o: ours.CyclicLR(o, 0.01, 0.1, max_momentum=1.5), "momentum"),
    "OneCycleLR div_factor=0": (lambda o: ours.OneCycleLR(o, 0.1, total_steps=10, div_factor=0.0), "div_factor"),
    "OneCycleLR final_div_factor<0": (lambda o: ours.OneCycleLR(o, 0.1, total_steps=10, final_div_factor=-1.0), "final_div_factor"),
    "OneCycleLR max_lr<0": (lambda o: ours.OneCycleLR(o, -0.1, total_steps=10), "learning rate"),
    "OneCycleLR empty warm-up": (lambda o: ours.OneCycleLR(o, 0.1, total_steps=10, pct_start=0.1), "zero steps"),
    "Plateau factor=0": (lambda o: ours.ReduceLROnPlateau(o, factor=0.0), "factor"),
    "Plateau patience<0": (lambda o: ours.ReduceLROnPlateau(o, patience=-1), "patience"),
    "Plateau cooldown<0": (lambda o: ours.ReduceLROnPlateau(o, cooldown=-2), "cooldown"),
    "Plateau threshold<0": (lambda o: ours.ReduceLROnPlateau(o, threshold=-1e-4), "threshold"),
    "Plateau min_lr<0": (lambda o: ours.ReduceLROnPlateau(o, min_lr=[0.0, -1e-6]), "learning rate"),
    "Plateau eps<0": (lambda o: ours.ReduceLROnPlateau(o, eps=-1.0), "eps"),
    "Sequential decreasing milestones": (lambda o: ours.SequentialLR(
        o, [ours.StepLR(o, 3), ours.StepLR(o, 4), ours.StepLR(o, 5)], milestones=[20, 10]), "non-decreasing"),
}


@pytest.mark.parametrize("case", list(OURS_ONLY))
def test_invalid_arguments_torch_lets_through_raise_value_error(case):
    build, words = OURS_ONLY[case]
    opt = sgd()
    lrs_before = [g["lr"] for g in opt.param_groups]
    with pytest.raises(ValueError, match=words):
        build(opt)
    if not case.startswith("Sequential"):
        assert [g["lr"] for g in opt.param_groups] == lrs_before  # refused before touching η


def test_torch_crashes_on_an_empty_one_cycle_warmup_where_ours_explains():
    with pytest.raises(ZeroDivisionError):
        theirs.OneCycleLR(sgd(), 0.1, total_steps=10, pct_start=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        ours.OneCycleLR(sgd(), 0.1, total_steps=10, pct_start=0.1)


FUNCTION_ERRORS = [
    (lambda: F.step_lr(np.arange(5), 0.1, step_size=0), "step_size"),
    (lambda: F.cosine_annealing(3, 0.1, T_max=-5), "T_max"),
    (lambda: F.one_cycle(3, 0.1, total_steps=0), "total_steps"),
    (lambda: F.cyclic_lr(3, 0.01, 0.1, mode="sine"), "mode"),
    (lambda: F.piecewise_constant(3, [4, 7], [0.1, 0.01]), "values"),
    (lambda: F.piecewise_constant(3, [7, 4], [0.1, 0.01, 0.001]), "non-decreasing"),
    (lambda: F.step_decay(3, 0.1, 0.5, epochs_drop=0), "epochs_drop"),
    (lambda: F.exponential_decay(3, 0.1, k=-1.0), "k"),
    (lambda: F.lr_schedule("WarmupLR", 10, 0.1), "Unknown schedule"),
    (lambda: F.lr_schedule("StepLR", 10, step_size=3), "base_lr"),
    (lambda: F.lr_schedule("ReduceLROnPlateau", 10, 0.1, metrics=[1.0, 0.9]), "metrics"),
    (lambda: F.reduce_lr_on_plateau([1.0], 0.1, factor=2.0), "Factor"),
    (lambda: F.keras_reduce_lr_on_plateau([1.0], 0.1, factor=1.0), "factor >= 1.0"),
]


@pytest.mark.parametrize("i", range(len(FUNCTION_ERRORS)))
def test_function_forms_reject_invalid_arguments(i):
    call, words = FUNCTION_ERRORS[i]
    with pytest.raises(ValueError, match=words):
        call()


# ------------------------------------------------------------------ the ordering pitfall
PITFALL = {
    "StepLR": dict(step_size=3), "MultiStepLR": dict(milestones=[2, 5]), "ExponentialLR": dict(gamma=0.8),
    "PolynomialLR": dict(total_iters=8), "LinearLR": dict(start_factor=0.25, total_iters=4),
    "CosineAnnealingLR": dict(T_max=6), "CosineAnnealingWarmRestarts": dict(T_0=3),
    "CyclicLR": dict(base_lr=0.01, max_lr=0.1, step_size_up=3),
    "OneCycleLR": dict(max_lr=0.1, total_steps=20),
}


def lrs_seen_by_optimizer(module, name, scheduler_first):
    """The η each optimizer.step() used, and the warnings raised, over 10 steps."""
    opt = sgd(n=1)
    sched = getattr(module, name)(opt, **PITFALL[name])
    used = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(10):
            if scheduler_first:
                sched.step()
            opt.param_groups[0]["params"][0].grad = torch.ones(2)
            used.append(opt.param_groups[0]["lr"])
            opt.step()
            if not scheduler_first:
                sched.step()
    return used, [str(w.message) for w in caught]


@pytest.mark.parametrize("name", list(PITFALL))
def test_scheduler_step_before_optimizer_step_skips_eta0_and_warns_like_torch(name):
    right, right_warnings = lrs_seen_by_optimizer(ours, name, scheduler_first=False)
    wrong, wrong_warnings = lrs_seen_by_optimizer(ours, name, scheduler_first=True)
    torch_wrong, torch_warnings = lrs_seen_by_optimizer(theirs, name, scheduler_first=True)
    assert right_warnings == []
    assert wrong == pytest.approx(right[1:] + [wrong[-1]], abs=1e-12)  # η_0 never used: all shifted by one
    assert wrong == pytest.approx(torch_wrong, abs=1e-12)
    assert wrong_warnings == torch_warnings
    if name == "CosineAnnealingWarmRestarts":  # its own step() skips the check, in torch too
        assert wrong_warnings == []
    else:
        assert len(wrong_warnings) == 1
        assert "Detected call of `lr_scheduler.step()` before `optimizer.step()`" in wrong_warnings[0]


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR"])
def test_get_lr_outside_step_warns_as_torch(name):
    for module in (ours, theirs):
        sched = getattr(module, name)(sgd(n=1), **PITFALL[name])
        with pytest.warns(UserWarning, match="get_last_lr"):
            sched.get_lr()
