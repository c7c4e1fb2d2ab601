"""The optimizer race and the one-state-many-η stepper: oracles against torch.optim and gd."""
import numpy as np
import pytest
import torch

from lrcourse import optim
from lrcourse.toy import gd
from lrcourse.toy import surfaces
from lrcourse.toy.race import best_eta, race, trajectories
from lrcourse.viz.optimizer_comparison import race_frame
from lrcourse.optim.unit_step import UnitStep
from lrcourse.viz.widgets import BlitRenderer

CASES = [
    (torch.optim.SGD, {}),
    (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    (torch.optim.SGD, {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1}),
    (torch.optim.Adagrad, {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    (torch.optim.RMSprop, {"momentum": 0.5, "centered": True}),
    (torch.optim.Adadelta, {"rho": 0.95}),
    (torch.optim.Adam, {"amsgrad": True, "weight_decay": 0.05}),
    (torch.optim.AdamW, {}),  # decoupled weight decay 1e-2 by default
    (optim.Adam, {}),
    (optim.RMSprop, {}),
]


@pytest.mark.parametrize("cls, hyper", CASES, ids=lambda v: getattr(v, "__module__", "")[:5] + getattr(v, "__name__", str(v)))
def test_unit_step_equals_one_optimizer_per_eta(cls, hyper):
    """K members sharing one optimizer state follow K separate optimizers with lr=η_k (float64)."""
    gen = torch.Generator().manual_seed(1)
    K, d = 4, 6
    A = torch.randn(d, d, generator=gen, dtype=torch.float64)
    H = A @ A.T / d + 0.1 * torch.eye(d, dtype=torch.float64)
    theta = torch.randn(K, d, generator=gen, dtype=torch.float64)
    etas = torch.tensor([1e-3, 1e-2, 3e-2, 0.1], dtype=torch.float64)
    refs = [theta[k].clone().requires_grad_(True) for k in range(K)]
    opts = [cls([refs[k]], lr=float(etas[k]), **hyper) for k in range(K)]
    stepper = UnitStep(cls, [theta], **hyper)
    for _ in range(100):
        stepper.step([theta], [theta @ H], etas)
        for k in range(K):
            refs[k].grad = refs[k].detach() @ H
            opts[k].step()
    worst = max(float((theta[k] - refs[k].detach()).abs().max()) for k in range(K))
    assert worst <= 1e-12


def test_unit_step_rejects_lr_and_ragged_members():
    with pytest.raises(ValueError, match="lr"):
        UnitStep(torch.optim.Adam, [torch.zeros(3, 2)], lr=0.1)
    with pytest.raises(ValueError, match="members"):
        UnitStep(torch.optim.Adam, [torch.zeros(3, 2), torch.zeros(4, 2)])
    stepper = UnitStep(torch.optim.Adam, [torch.zeros(3, 2)])
    with pytest.raises(ValueError, match="one learning rate per member"):
        stepper.step([torch.zeros(3, 2)], [torch.ones(3, 2)], torch.ones(2))


def test_momentum_race_equals_gd_run_many():
    """Heavy ball through the torch optimizer = gd.run_many's own momentum loop (torch's convention)."""
    q = surfaces.Quadratic2D()
    etas = np.geomspace(1e-3, 0.5, 9)  # the largest diverge (2+2β)/λ_max = 0.38
    ours = trajectories(q, torch.optim.SGD, etas, steps=150, momentum=0.9)
    ref = gd.run_many(q, etas, steps=150, momentum=0.9)
    for a, b in zip(ours, ref):
        assert a.diverged_at == b.diverged_at
        ok = np.isfinite(b.path).all(axis=1)
        np.testing.assert_allclose(a.path[ok], b.path[ok], rtol=0, atol=1e-10)
    assert any(r.diverged for r in ours) and not all(r.diverged for r in ours)


@pytest.mark.parametrize("cls, hyper", [(optim.Adam, {}), (optim.Adadelta, {}), (optim.Adagrad, {}),
                                        (optim.RMSprop, {"alpha": 0.9})])
def test_race_trajectory_equals_the_optimizer_on_one_tensor(cls, hyper):
    """Each η's path is what cls([θ], lr=η) does to a single 2-element θ on the surface."""
    surface = surfaces.Beale()
    etas = [1e-3, 1e-2]
    runs = trajectories(surface, cls, etas, steps=120, **hyper)
    for eta, run in zip(etas, runs):
        theta = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
        opt = cls([theta], lr=eta, **hyper)
        path = [surface.start]
        for _ in range(120):
            theta.grad = torch.from_numpy(surface.grad(theta.detach().numpy()))
            opt.step()
            path.append(theta.detach().numpy().copy())
        np.testing.assert_allclose(run.path, np.array(path), rtol=0, atol=1e-10)
        assert not run.diverged


def test_divergence_is_a_result_and_does_not_touch_other_runs():
    q = surfaces.Quadratic2D(lam_min=1.0, lam_max=10.0)
    etas = [0.01, 0.19, 0.21, 1.0]  # SGD diverges iff η > 2/λ_max = 0.2
    runs = trajectories(q, torch.optim.SGD, etas, steps=400)
    assert [r.diverged for r in runs] == [False, False, True, True]
    assert runs[3].diverged_at < runs[2].diverged_at
    assert np.isnan(runs[3].path[-1]).all() and np.isfinite(runs[0].path).all()
    alone = trajectories(q, torch.optim.SGD, [0.01], steps=400)[0]
    np.testing.assert_allclose(alone.path, runs[0].path, rtol=0, atol=1e-13)
    eta, gap = best_eta(runs, q.min_value)
    assert eta == 0.19 and gap < 1e-12


def test_race_and_frame():
    rb = surfaces.Rosenbrock()
    grid = np.geomspace(1e-4, 1.0, 5)
    result = race(rb, {"SGD": (torch.optim.SGD, {}), "Adam": optim.Adam}, grid, steps=50)
    assert list(result) == ["SGD", "Adam"] and all(len(v) == 5 for v in result.values())
    assert not any(r.diverged for r in result["Adam"])  # Adam's step is ~η per coordinate
    assert result["SGD"][-1].diverged  # η = 1 on Rosenbrock
    frame = race_frame(rb, result)
    png = BlitRenderer(frame).png(1e-2)
    assert png[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="optimizer"):
        race(rb, {}, grid)


def test_invalid_arguments_use_torch_wording():
    q = surfaces.Quadratic2D()
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        trajectories(q, torch.optim.Adam, [-1.0])
    with pytest.raises(ValueError, match="Invalid number of steps"):
        trajectories(q, torch.optim.Adam, [0.1], steps=0)
    with pytest.raises(ValueError, match="start must have 2"):
        trajectories(q, torch.optim.Adam, [0.1], start=[1.0])
