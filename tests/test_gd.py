"""Gradient-descent trajectories: the divergence threshold 2/λ_max found numerically, bad η rejected."""
import math

import numpy as np
import pytest

from lrcourse.toy import gd
from lrcourse.toy import surfaces


@pytest.mark.parametrize("lam", [0.5, 2.0, 7.0])
def test_threshold_1d_matches_finite_horizon_prediction(lam):
    """GD diverges visibly iff (ηλ − 1)^T·θ0 > B, i.e. η > (1 + (B/θ0)^(1/T))/λ → 2/λ."""
    q = surfaces.Quadratic1D(curvature=lam)
    bound = gd._default_bound(q)
    for T in (100, 1000):
        found = gd.divergence_threshold(q, steps=T)
        predicted = (1 + (bound / q.start[0]) ** (1 / T)) / lam
        assert found == pytest.approx(predicted, rel=1e-6)
        assert found > 2 / lam
    assert gd.divergence_threshold(q, steps=20000) == pytest.approx(2 / lam, rel=2e-3)


def test_threshold_2d_is_set_by_lambda_max():
    q = surfaces.Quadratic2D(lam_min=1.0, lam_max=10.0)
    found = gd.divergence_threshold(q, steps=20000)
    assert found == pytest.approx(2 / 10.0, rel=2e-3)
    q_sharper = surfaces.Quadratic2D(lam_min=1.0, lam_max=40.0)
    assert gd.divergence_threshold(q_sharper, steps=20000) == pytest.approx(2 / 40.0, rel=2e-3)


def test_best_fixed_step_is_two_over_sum_of_extreme_eigenvalues():
    q = surfaces.Quadratic2D(lam_min=1.0, lam_max=10.0)
    etas = np.geomspace(0.05, 0.199, 400)
    # contraction after many steps: the slowest direction's |1 − ηλ|
    losses = np.array([r.losses[400] for r in gd.run_many(q, etas, steps=400)])
    best = etas[np.argmin(losses)]
    assert best == pytest.approx(2 / 11, rel=0.01)


def test_run_many_equals_single_runs_and_plain_loop():
    s = surfaces.Rosenbrock()
    etas = [1e-4, 5e-4, 1e-3]
    many = gd.run_many(s, etas, steps=300)
    for eta, tr in zip(etas, many):
        single = gd.run(s, eta, steps=300)
        np.testing.assert_array_equal(tr.path, single.path)
        theta = s.start.copy()
        for _ in range(300):
            theta = theta - eta * s.grad(theta)
        np.testing.assert_allclose(tr.final, theta, rtol=1e-12)


def test_divergence_is_a_result_with_its_step():
    q = surfaces.Quadratic1D(curvature=2.0)
    tr = gd.run(q, 1.5, steps=100)  # factor −2: |θ_t| = 2.5·2^t passes the bound 3e4 at t = 14
    bound = gd._default_bound(q)
    assert tr.diverged_at == math.floor(math.log2(bound / 2.5)) + 1
    assert np.all(np.isnan(tr.path[tr.diverged_at:]))
    assert not gd.run(q, 0.9, steps=100).diverged
    nan_run = gd.run(surfaces.Rastrigin(), 1e6, steps=5)
    assert nan_run.diverged_at == 1


def test_momentum_torch_convention():
    q = surfaces.Quadratic2D()
    tr = gd.run(q, 0.05, steps=50, momentum=0.9)
    theta, v = q.start.copy(), np.zeros(2)
    for _ in range(50):
        v = 0.9 * v + q.grad(theta)
        theta = theta - 0.05 * v
    np.testing.assert_allclose(tr.final, theta, rtol=1e-12)


@pytest.mark.parametrize("eta", [-1.0, float("nan"), float("inf"), "fast", None])
def test_invalid_learning_rate(eta):
    with pytest.raises(ValueError, match="Invalid learning rate"):
        gd.run(surfaces.Quadratic1D(), eta)


@pytest.mark.parametrize("steps", [0, -3, 2.5, True])
def test_invalid_steps(steps):
    with pytest.raises(ValueError, match="Invalid number of steps"):
        gd.run(surfaces.Quadratic1D(), 0.1, steps=steps)


def test_invalid_start_and_momentum():
    with pytest.raises(ValueError, match="start must have 2"):
        gd.run(surfaces.Rosenbrock(), 0.1, start=[1.0])
    with pytest.raises(ValueError, match="Invalid momentum"):
        gd.run(surfaces.Rosenbrock(), 0.1, momentum=1.5)
