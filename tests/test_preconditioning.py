"""lrcourse.toy.preconditioning against independent computations: numpy's least squares and
non-symmetric eigenvalues, closed forms, and torch.optim's own Adagrad / RMSprop / Adam."""
import math

import numpy as np
import pytest
import torch

from lrcourse.toy.preconditioning import (adaptive_run, gd_run, newton_step, preconditioned_condition,
                                          rotated_hessian)


def random_spd(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    return A @ A.T + 0.1 * np.eye(n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_lands_on_the_minimum_in_one_step(seed):
    H = random_spd(5, seed)
    theta = np.random.default_rng(seed + 10).normal(size=5)
    # independent: the minimiser of ½θᵀHθ − 0 solves Hθ* = 0, θ* = 0; and the step equals lstsq's
    step = np.linalg.lstsq(H, H @ theta, rcond=None)[0]
    assert np.allclose(newton_step(H, theta), theta - step, atol=1e-10)
    assert np.abs(newton_step(H, theta)).max() < 1e-9


def test_rotated_hessian_keeps_the_spectrum_and_mixes_the_diagonal():
    H = rotated_hessian(1.0, 100.0, math.pi / 4)
    assert np.allclose(np.linalg.eigvalsh(H), [1.0, 100.0])
    assert np.allclose(np.diag(H), [50.5, 50.5])
    assert np.allclose(rotated_hessian(1.0, 100.0, 0.0), np.diag([1.0, 100.0]))


@pytest.mark.parametrize("seed", [0, 1])
def test_preconditioned_condition_matches_the_eigenvalues_of_PH(seed):
    H = random_spd(4, seed)
    d = np.random.default_rng(seed).uniform(0.5, 3.0, size=4)
    lam = np.sort(np.linalg.eigvals(np.diag(1 / d) @ H).real)   # P H is similar to P½ H P½
    assert preconditioned_condition(H, d) == pytest.approx(lam[-1] / lam[0], rel=1e-9)
    assert preconditioned_condition(np.diag([2.0, 50.0]), [2.0, 50.0]) == pytest.approx(1.0)
    assert preconditioned_condition(rotated_hessian(1, 100, math.pi / 4), [50.5, 50.5]) == pytest.approx(100.0)


def test_gd_run_matches_the_closed_form():
    H = np.diag([1.0, 10.0])
    losses = gd_run(H, [1.0, 1.0], 0.05, 30)
    t = np.arange(31)
    expected = 0.5 * (1.0 * 0.95 ** (2 * t) + 10.0 * 0.5 ** (2 * t))
    assert np.allclose(losses, expected, rtol=1e-12)
    assert gd_run(H, [1.0, 1.0], 1.0, 1, preconditioner=[1.0, 0.1])[1] == pytest.approx(0.0, abs=1e-30)
    assert np.isinf(gd_run(H, [1.0, 1.0], 0.5, 100)[-1])   # η > 2/λ_max diverges


@pytest.mark.parametrize("method,cls,kw", [("adagrad", torch.optim.Adagrad, {}),
                                           ("rmsprop", torch.optim.RMSprop, {}),
                                           ("adam", torch.optim.Adam, {})])
def test_adaptive_run_follows_torch(method, cls, kw):
    H = rotated_hessian(1.0, 20.0, 0.3)
    theta0 = np.array([1.0, -0.7])
    eta, steps = 0.05, 60
    ours = adaptive_run(H, theta0, method, eta, steps)
    p = torch.tensor(theta0, requires_grad=True)
    opt = cls([p], lr=eta, **kw)
    Ht = torch.tensor(H)
    losses = [float(0.5 * p.detach() @ Ht @ p.detach())]
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * p @ Ht @ p
        loss.backward()
        opt.step()
        losses.append(float(0.5 * p.detach() @ Ht @ p.detach()))
    assert np.allclose(ours.losses, losses, rtol=1e-9, atol=1e-14)
    assert ours.divisors.shape == (steps, 2) and np.all(ours.divisors > 0)


def test_bad_input_gives_one_line_errors():
    with pytest.raises(ValueError, match="Invalid method"):
        adaptive_run(np.eye(2), [1, 1], "sgd", 0.1, 5)
    with pytest.raises(ValueError, match="Invalid Hessian"):
        newton_step(np.ones((2, 3)), [1, 1])
    with pytest.raises(ValueError, match="Invalid scaling"):
        preconditioned_condition(np.eye(2), [1.0, -1.0])
    with pytest.raises(ValueError, match="Invalid spectrum"):
        rotated_hessian(5.0, 1.0)
