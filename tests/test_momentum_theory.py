"""lrcourse.toy.momentum: Polyak's (η*, β*) and rates against brute force and simulation."""
import math

import numpy as np
import pytest

from lrcourse.toy import momentum as M


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_optimal_pair_is_the_brute_force_minimum_of_the_rate(kappa):
    lam = np.array([1.0, kappa])
    best = M.optimal_heavy_ball(1.0, kappa)
    # brute force: the 2x2 iteration matrix's spectral radius by numpy.linalg.eigvals on a grid
    etas = np.linspace(0.5, 1.5, 121) * best.eta
    betas = np.linspace(0.5, 1.5, 121) * best.beta
    betas = betas[betas < 1]

    def radius(eta, beta):
        return max(np.abs(np.linalg.eigvals([[1 + beta - eta * l, -beta], [1, 0]])).max() for l in lam)

    grid = np.array([[radius(e, b) for e in etas] for b in betas])
    i, j = np.unravel_index(np.argmin(grid), grid.shape)
    assert grid.min() == pytest.approx(best.rate, rel=1e-3)
    assert etas[j] == pytest.approx(best.eta, rel=0.02)
    assert betas[i] == pytest.approx(best.beta, rel=0.02)
    # at the optimum both extreme directions are critically damped: √(disc) amplifies rounding
    assert M.heavy_ball_rate(best.eta, best.beta, lam) == pytest.approx(best.rate, rel=1e-6)


def test_rate_formula_equals_numpy_eigenvalues_everywhere():
    rng = np.random.default_rng(0)
    lam = np.array([0.3, 2.0, 9.0])
    for eta, beta in zip(rng.uniform(0, 0.5, 200), rng.uniform(0, 0.99, 200)):
        expected = max(np.abs(np.linalg.eigvals([[1 + beta - eta * l, -beta], [1, 0]])).max() for l in lam)
        assert M.heavy_ball_rate(eta, beta, lam) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_gradient_descent_optimum_and_rate(kappa):
    gd = M.optimal_gd(1.0, kappa)
    etas = np.linspace(0.2, 2.2, 4001) / kappa
    rates = M.gd_rate(etas, [1.0, kappa])
    assert etas[np.argmin(rates)] == pytest.approx(gd.eta, rel=1e-3)
    assert rates.min() == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-4)


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_simulated_steps_to_tolerance_follow_the_rates(kappa):
    lam = np.array([1.0, kappa])
    tol = 1e-8
    gd, hb = M.optimal_gd(1.0, kappa), M.optimal_heavy_ball(1.0, kappa)
    steps = int(3 * gd.steps(tol)) + 50
    gd_steps = M.steps_to_tolerance(M.heavy_ball_run(lam, gd.eta, 0.0, [1.0, 1.0], steps), tol)
    hb_steps = M.steps_to_tolerance(M.heavy_ball_run(lam, hb.eta, hb.beta, [1.0, 1.0], steps), tol)
    # loss ∝ error², so the loss falls by tol after about log(tol)/(2 log ρ) steps (± transients)
    assert gd_steps == pytest.approx(math.log(tol) / (2 * math.log(gd.rate)), rel=0.15, abs=3)
    assert hb_steps < gd_steps
    assert hb_steps <= 3 * math.log(tol) / (2 * math.log(hb.rate)) + 10


def test_damping_regimes():
    lam, eta = 1.0, 0.5
    # critical: (1 + β − ηλ)² = 4β  ⇔  √β = 1 − √(ηλ)
    beta_c = (1 - math.sqrt(eta * lam)) ** 2
    assert M.damping(eta, beta_c, lam) == "critically damped"
    assert M.damping(eta, beta_c * 0.5, lam) == "over-damped"
    assert M.damping(eta, 0.9, lam) == "under-damped"
    # under-damped errors change sign (oscillate); over-damped ones do not
    under = M.heavy_ball_run([lam], eta, 0.9, [1.0], 60)
    over = M.heavy_ball_run([lam], eta, beta_c * 0.5, [1.0], 60)
    assert np.any(np.diff(np.sign(np.diff(under))) != 0)
    assert np.all(np.diff(over) <= 0)


def test_rate_map_shape_and_divergence_beyond_the_stability_bound():
    lam = [1.0, 10.0]
    grid = M.rate_map(np.array([0.05, 0.1, 0.5]), np.array([0.0, 0.5]), lam)
    assert grid.shape == (2, 3)
    # stable iff 0 < ηλ < 2 + 2β for every λ: η = 0.5, λ = 10 → ηλ = 5 > 2 + 2·0.5
    assert grid[1, 2] > 1 and grid[1, 1] < 1


@pytest.mark.parametrize("args, message", [((0.0, 1.0), "lambda_min"), ((2.0, 1.0), "spectrum"),
                                           ((1.0, float("inf")), "lambda_max")])
def test_bad_spectrum(args, message):
    with pytest.raises(ValueError, match=message):
        M.optimal_heavy_ball(*args)
