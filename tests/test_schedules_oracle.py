"""Oracle: lrcourse.schedules against torch.optim.lr_scheduler (torch 2.13) on twin optimizers.

For each schedule, seeded random arguments, 1–3 param groups with different η: the η (and
momentum / Adam's β₁) of every group after every step agree to 1e-12; a state_dict saved
mid-run and loaded into a fresh scheduler on a fresh optimizer continues identically; the
function form of lrcourse.schedules.functions equals the class.
"""
import copy
import pickle

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as theirs

from lrcourse.schedules import functions as F
from lrcourse.schedules import lr_scheduler as ours

STEPS = 300
TOL = 1e-12
SEEDS = range(6)
PER_GROUP = {"base_lr", "max_lr", "base_momentum", "max_momentum"}


def make_optimizer(kind, lrs):
    params = [torch.nn.Parameter(torch.zeros(3, dtype=torch.float64)) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lrs[0])
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def snapshot(opt):
    """η of every group, then momentum (or β₁) of every group."""
    lrs = [float(g["lr"]) for g in opt.param_groups]
    betas = [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
    return lrs + betas


def advance(opt, sched, steps):
    rows = []
    for _ in range(steps):
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = torch.ones_like(p)
        opt.step()
        sched.step()
        rows.append(snapshot(opt))
    return rows


def run(cls, kwargs, kind, lrs, steps):
    opt = make_optimizer(kind, lrs)
    sched = cls(opt, **copy.deepcopy(kwargs))
    return np.array([snapshot(opt)] + advance(opt, sched, steps)), sched


# ------------------------------------------------------------------ random valid arguments
def _momenta(rng, n):
    low = [float(rng.uniform(0.5, 0.9)) for _ in range(n)]
    high = [b + float(rng.uniform(0.0, 0.09)) for b in low]
    return (low, high) if rng.random() < 0.5 else (low[0], high[0])


def _maybe_list(rng, values):
    return values if rng.random() < 0.5 else values[0]


def draw_cyclic(rng, n):
    kw = dict(base_lr=_maybe_list(rng, [float(rng.uniform(1e-4, 1e-2)) for _ in range(n)]),
              max_lr=_maybe_list(rng, [float(rng.uniform(0.02, 0.5)) for _ in range(n)]),
              step_size_up=int(rng.integers(1, 60)),
              step_size_down=None if rng.random() < 0.3 else int(rng.integers(0, 60)),
              mode=str(rng.choice(["triangular", "triangular2", "exp_range"])),
              gamma=float(rng.uniform(0.98, 1.0)),
              cycle_momentum=bool(rng.random() < 0.8))
    if rng.random() < 0.25:
        kw["scale_fn"] = lambda x: 0.9 ** x
        kw["scale_mode"] = str(rng.choice(["cycle", "iterations"]))
    kw["base_momentum"], kw["max_momentum"] = _momenta(rng, n)
    return kw, STEPS


def draw_one_cycle(rng, n):
    total = int(rng.integers(10, STEPS))
    pct = round(float(rng.uniform(0.05, 0.95)), 3)
    while float(pct * total) == 1:
        pct = round(float(rng.uniform(0.05, 0.95)), 3)
    kw = dict(max_lr=_maybe_list(rng, [float(rng.uniform(0.01, 1.0)) for _ in range(n)]),
              pct_start=pct, anneal_strategy=str(rng.choice(["cos", "linear"])),
              three_phase=bool(rng.random() < 0.5), div_factor=float(rng.uniform(2, 50)),
              final_div_factor=float(10 ** rng.uniform(1, 5)), cycle_momentum=bool(rng.random() < 0.8))
    if rng.random() < 0.3:  # epochs × steps_per_epoch instead of total_steps
        kw["epochs"], kw["steps_per_epoch"] = int(rng.integers(1, 10)), int(rng.integers(1, 30))
        total = kw["epochs"] * kw["steps_per_epoch"]
        while float(pct * total) == 1:
            pct = kw["pct_start"] = round(float(rng.uniform(0.05, 0.95)), 3)
    else:
        kw["total_steps"] = total
    kw["base_momentum"], kw["max_momentum"] = _momenta(rng, n)
    return kw, total  # run to last_epoch == total_steps, the last step torch allows


DRAW = {
    "StepLR": lambda rng, n: (dict(step_size=int(rng.integers(1, 40)), gamma=float(rng.uniform(0.05, 0.99))), STEPS),
    "MultiStepLR": lambda rng, n: (dict(milestones=sorted(rng.integers(0, STEPS, size=int(rng.integers(1, 6))).tolist()),
                                        gamma=float(rng.uniform(0.05, 0.99))), STEPS),
    "ExponentialLR": lambda rng, n: (dict(gamma=float(rng.uniform(0.95, 1.005))), STEPS),
    "PolynomialLR": lambda rng, n: (dict(total_iters=int(rng.integers(1, STEPS)), power=float(rng.uniform(0, 3))), STEPS),
    "LinearLR": lambda rng, n: (dict(start_factor=float(rng.uniform(0.01, 1)), end_factor=float(rng.uniform(0, 1)),
                                     total_iters=int(rng.integers(1, 100))), STEPS),
    "CosineAnnealingLR": lambda rng, n: (dict(T_max=int(rng.integers(1, 120)),
                                              eta_min=float(rng.choice([0.0, rng.uniform(0, 1e-3)]))), STEPS),
    "CosineAnnealingWarmRestarts": lambda rng, n: (dict(T_0=int(rng.integers(1, 30)), T_mult=int(rng.integers(1, 4)),
                                                        eta_min=float(rng.uniform(0, 1e-3))), STEPS),
    "CyclicLR": draw_cyclic,
    "OneCycleLR": draw_one_cycle,
}
NAMES = list(DRAW)


def draw(name, seed):
    rng = np.random.default_rng([NAMES.index(name), seed])
    n = 1 + seed % 3
    lrs = [float(10 ** rng.uniform(-3, 0)) for _ in range(n)]
    kwargs, steps = DRAW[name](rng, n)
    kind = "adam" if name in ("CyclicLR", "OneCycleLR") and seed % 2 else "sgd"
    return kwargs, kind, lrs, steps


# ------------------------------------------------------------------ the oracle tests
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_lr_and_momentum_equal_torch(name, seed):
    kwargs, kind, lrs, steps = draw(name, seed)
    mine, my_sched = run(getattr(ours, name), kwargs, kind, lrs, steps)
    expected, their_sched = run(getattr(theirs, name), kwargs, kind, lrs, steps)
    np.testing.assert_allclose(mine, expected, rtol=0, atol=TOL)
    np.testing.assert_allclose(my_sched.get_last_lr(), their_sched.get_last_lr(), rtol=0, atol=TOL)
    my_state, their_state = my_sched.state_dict(), their_sched.state_dict()
    assert set(their_state) - set(my_state) <= {"_schedule_phases"}  # OneCycleLR keeps _phase_ends instead
    assert set(my_state) - set(their_state) <= {"_phase_ends", "three_phase"}
    for key in ("last_epoch", "_step_count", "T_cur", "T_i", "total_size", "step_ratio", "total_steps"):
        if key in their_state:
            assert my_state[key] == pytest.approx(their_state[key], abs=TOL)


@pytest.mark.parametrize("name", ["OneCycleLR"])
def test_one_cycle_refuses_a_step_past_total_steps(name):
    for module in (ours, theirs):
        opt = make_optimizer("sgd", [0.1])
        sched = module.OneCycleLR(opt, max_lr=0.1, total_steps=5)
        advance(opt, sched, 5)
        with pytest.raises(ValueError, match="Tried to step 6 times"):
            advance(opt, sched, 1)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_state_dict_resumes_identically(name, seed):
    kwargs, kind, lrs, steps = draw(name, seed)
    expected, _ = run(getattr(theirs, name), kwargs, kind, lrs, steps)
    cut = int(np.random.default_rng(seed).integers(1, steps))
    for source in (ours, theirs):  # our own state_dict, and torch's, loaded into ours
        opt = make_optimizer(kind, lrs)
        sched = getattr(source, name)(opt, **copy.deepcopy(kwargs))
        first = [snapshot(opt)] + advance(opt, sched, cut)
        opt_state = copy.deepcopy(opt.state_dict())
        sched_state = pickle.loads(pickle.dumps(sched.state_dict()))
        fresh_opt = make_optimizer(kind, lrs)
        fresh = getattr(ours, name)(fresh_opt, **copy.deepcopy(kwargs))
        fresh_opt.load_state_dict(opt_state)
        fresh.load_state_dict(sched_state)
        rest = advance(fresh_opt, fresh, steps - cut)
        np.testing.assert_allclose(np.array(first + rest), expected, rtol=0, atol=TOL)


def _group_kwargs(kwargs, i):
    return {k: (v[i] if k in PER_GROUP and isinstance(v, list) else v) for k, v in kwargs.items()}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_function_form_equals_class(name, seed):
    kwargs, kind, lrs, steps = draw(name, seed)
    rows, _ = run(getattr(ours, name), kwargs, kind, lrs, steps)
    n = len(lrs)
    for i, base_lr in enumerate(lrs):
        kw = _group_kwargs(kwargs, i)
        momentum = {k: kw.pop(k) for k in ("cycle_momentum", "base_momentum", "max_momentum") if k in kw}
        if name == "CyclicLR":
            base_lr = kw.pop("base_lr")
        eta = F.lr_schedule(name, steps + 1, base_lr, **kw)
        np.testing.assert_allclose(rows[:, i], eta, rtol=TOL, atol=TOL)
        if momentum.get("cycle_momentum"):
            low, high = momentum["base_momentum"], momentum["max_momentum"]
            if name == "CyclicLR":
                kw.pop("max_lr")
                beta = F.cyclic_momentum(np.arange(steps + 1), low, high, **kw)
            else:
                shape = {k: kw[k] for k in ("pct_start", "anneal_strategy", "three_phase")}
                beta = F.one_cycle_momentum(np.arange(steps + 1), steps, base_momentum=low,
                                            max_momentum=high, **shape)
            np.testing.assert_allclose(rows[:, n + i], beta, rtol=TOL, atol=TOL)


CHAINS = [
    [("StepLR", dict(step_size=10, gamma=0.5)), ("ExponentialLR", dict(gamma=0.99))],
    [("LinearLR", dict(start_factor=0.1, total_iters=20)), ("CosineAnnealingLR", dict(T_max=100, eta_min=1e-4))],
    [("MultiStepLR", dict(milestones=[30, 60], gamma=0.3)), ("PolynomialLR", dict(total_iters=150, power=2.0))],
]


@pytest.mark.parametrize("chain", CHAINS, ids=lambda c: "+".join(n for n, _ in c))
def test_two_schedulers_on_one_optimizer_compose_as_in_torch(chain):
    def rows(modules, use_chained):
        opt = make_optimizer("sgd", [0.1, 0.03])
        scheds = [getattr(m, n)(opt, **kw) for m, (n, kw) in zip(modules, chain)]
        out = [snapshot(opt)]
        chained = theirs.ChainedScheduler(scheds) if use_chained else None
        for _ in range(200):
            opt.step()
            if chained:
                chained.step()
            else:
                for s in scheds:
                    s.step()
            out.append(snapshot(opt))
        return np.array(out)

    expected = rows([theirs, theirs], False)
    for modules in ([ours, ours], [ours, theirs], [theirs, ours]):
        np.testing.assert_allclose(rows(modules, False), expected, rtol=0, atol=TOL)
    np.testing.assert_allclose(rows([ours, ours], True), rows([theirs, theirs], True), rtol=0, atol=TOL)


def _draw_sequence(seed):
    rng = np.random.default_rng([99, seed])
    warm = int(rng.integers(1, 40))
    parts = [("LinearLR", dict(start_factor=float(rng.uniform(0.01, 0.5)), total_iters=warm))]
    decays = [("CosineAnnealingLR", dict(T_max=int(rng.integers(20, 200)), eta_min=1e-5)),
              ("ExponentialLR", dict(gamma=float(rng.uniform(0.95, 0.999)))),
              ("StepLR", dict(step_size=int(rng.integers(5, 50)), gamma=0.5)),
              ("PolynomialLR", dict(total_iters=int(rng.integers(20, 250)), power=float(rng.uniform(0.5, 2)))),
              ("MultiStepLR", dict(milestones=[0, 40, 90], gamma=0.2))]
    k = int(rng.integers(1, 3))
    parts += [decays[j] for j in rng.choice(len(decays), size=k, replace=False)]
    milestones = sorted(int(m) for m in rng.choice(np.arange(1, 150), size=k, replace=False))
    milestones[0] = max(milestones[0], 1)
    return parts, milestones


@pytest.mark.parametrize("seed", SEEDS)
def test_sequential_warmup_then_decay_equals_torch(seed):
    parts, milestones = _draw_sequence(seed)
    lrs = [0.1, 0.02, 0.5][: 1 + seed % 3]

    def build(outer, inner):
        opt = make_optimizer("sgd", lrs)
        scheds = [getattr(inner, n)(opt, **kw) for n, kw in parts]
        return opt, outer.SequentialLR(opt, scheds, milestones=milestones)

    opt, sched = build(theirs, theirs)
    expected = np.array([snapshot(opt)] + advance(opt, sched, STEPS))
    for outer, inner in ((ours, ours), (ours, theirs)):
        opt, sched = build(outer, inner)
        np.testing.assert_allclose([snapshot(opt)] + advance(opt, sched, STEPS), expected, rtol=0, atol=TOL)
    for i, base_lr in enumerate(lrs):  # the function form: f_k(t − m_k)
        eta = F.lr_schedule("SequentialLR", STEPS + 1, base_lr, schedulers=parts, milestones=milestones)
        np.testing.assert_allclose(expected[:, i], eta, rtol=TOL, atol=TOL)
    # resume from a state_dict (ours) into a fresh SequentialLR of fresh schedulers
    opt, sched = build(ours, ours)
    first = [snapshot(opt)] + advance(opt, sched, 100)
    opt_state, sched_state = copy.deepcopy(opt.state_dict()), pickle.loads(pickle.dumps(sched.state_dict()))
    opt, sched = build(ours, ours)
    opt.load_state_dict(opt_state)
    sched.load_state_dict(sched_state)
    np.testing.assert_allclose(first + advance(opt, sched, STEPS - 100), expected, rtol=0, atol=TOL)


CLOSED_FORM = [("StepLR", dict(step_size=7, gamma=0.5)), ("MultiStepLR", dict(milestones=[3, 3, 20], gamma=0.3)),
               ("ExponentialLR", dict(gamma=0.9)), ("PolynomialLR", dict(total_iters=30, power=1.5)),
               ("LinearLR", dict(start_factor=0.2, total_iters=12)), ("CosineAnnealingLR", dict(T_max=25, eta_min=0.01))]


@pytest.mark.parametrize("name,kwargs", CLOSED_FORM)
def test_deprecated_step_epoch_uses_the_closed_form_as_torch(name, kwargs):
    epochs = [3, 4, 10, 2, 40, 41, 25, 0, 17]
    results = []
    for module in (ours, theirs):
        opt = make_optimizer("sgd", [0.1, 0.04])
        sched = getattr(module, name)(opt, **kwargs)
        got = []
        for e in epochs:
            opt.step()
            with pytest.warns(UserWarning, match="epoch parameter"):
                sched.step(e)
            got.append(snapshot(opt))
        results.append(np.array(got))
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=TOL)


@pytest.mark.parametrize("name,kwargs", CLOSED_FORM + [("CosineAnnealingWarmRestarts", dict(T_0=6, T_mult=2))])
def test_resuming_with_last_epoch_equals_torch(name, kwargs):
    results = []
    for module in (ours, theirs):
        opt = make_optimizer("sgd", [0.1, 0.04])
        for group, lr in zip(opt.param_groups, [0.05, 0.01]):
            group["initial_lr"], group["lr"] = group["lr"], lr  # as if η had already moved
        sched = getattr(module, name)(opt, last_epoch=11, **kwargs)
        results.append(np.array([snapshot(opt)] + advance(opt, sched, 60)))
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(3))
def test_warm_restarts_fractional_epochs_equal_torch(seed):
    rng = np.random.default_rng([7, seed])
    kwargs = dict(T_0=int(rng.integers(1, 8)), T_mult=int(rng.integers(1, 3)), eta_min=1e-4)
    iters = int(rng.integers(2, 9))
    results = []
    for module in (ours, theirs):
        opt = make_optimizer("sgd", [0.1, 0.3])
        sched = module.CosineAnnealingWarmRestarts(opt, **kwargs)
        got = []
        for epoch in range(40):
            for i in range(1, iters + 1):  # epoch + i/iters: never exactly at a restart
                opt.step()
                sched.step(epoch + i / (iters + 1))
                got.append(snapshot(opt) + [sched.T_cur, sched.T_i])
        results.append(np.array(got))
    np.testing.assert_allclose(results[0][:, :4], results[1][:, :4], rtol=0, atol=TOL)  # η and β
    np.testing.assert_allclose(results[0][:, 4:], results[1][:, 4:], rtol=1e-12)  # T_cur, T_i


def test_warm_restarts_step_epoch_is_exact_at_restarts_where_torch_is_not():
    """torch's step(epoch) finds the cycle with a float log: log₃(243) = 4.999…, so at
    epoch 121 (T_0=1, T_mult=3, cycles 1+3+9+27+81) it lands in the old cycle at its end
    (η_min) while its own step() path restarts (η_0). Ours takes the restart both ways."""
    def after(module, use_epoch):
        opt = make_optimizer("sgd", [0.1])
        sched = module.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3, eta_min=0.001)
        if use_epoch:
            opt.step()
            sched.step(121)
        else:
            advance(opt, sched, 121)
        return sched.get_last_lr()[0]

    assert after(theirs, use_epoch=False) == pytest.approx(0.1)
    assert after(theirs, use_epoch=True) == pytest.approx(0.001)  # torch's step(epoch) slip
    assert after(ours, use_epoch=False) == pytest.approx(0.1)
    assert after(ours, use_epoch=True) == pytest.approx(0.1)


def test_warm_restarts_fractional_and_plain_steps_interleaved_equal_torch():
    """torch's docstring: step(epoch) and step() may be mixed; after step(8.5) the next
    step() goes on from T_cur = 8.5 + 1, wrapping past a restart with T_cur mod T_i."""
    schedule = [None, None, 2.5, None, None, 8.5, None, None, None, 26, None, None, 3.25] + [None] * 40
    results = []
    for module in (ours, theirs):
        opt = make_optimizer("sgd", [0.1, 0.02])
        sched = module.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=1e-4)
        got = []
        for epoch in schedule:
            opt.step()
            sched.step(epoch)
            got.append(snapshot(opt)[:2] + [sched.T_cur, sched.T_i, sched.last_epoch])
        results.append(np.array(got, dtype=float))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=TOL)


@pytest.mark.parametrize("name", NAMES)
def test_tensor_learning_rates_stay_tensors_and_equal_torch(name):
    kwargs, kind, _, steps = draw(name, 0)
    results = []
    for module in (ours, theirs):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))],
                              lr=torch.tensor(0.05, dtype=torch.float64), momentum=0.9)
        sched = getattr(module, name)(opt, **copy.deepcopy(kwargs))
        rows = [snapshot(opt)] + advance(opt, sched, steps)
        assert torch.is_tensor(opt.param_groups[0]["lr"]) and torch.is_tensor(sched.get_last_lr()[0])
        results.append(np.array(rows))
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=TOL)
