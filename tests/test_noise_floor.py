"""lrcourse.training.noise_floor: the stationary excess loss against simulation and recursion."""
import numpy as np
import pytest

from lrcourse.training import noise_floor as NF


@pytest.mark.parametrize("eta, batch", [(0.05, 1), (0.2, 1), (0.5, 4), (1.2, 16)])
def test_the_floor_formula_matches_a_seeded_simulation(eta, batch):
    lam, sigma2 = 1.0, 2.0
    steps = int(20 / (eta * lam)) + 200  # long enough to forget θ_0
    sim = NF.simulate(eta, lam, sigma2, 0.0, steps, runs=20000, batch_size=batch, seed=1)
    floor = NF.stationary_excess_loss(eta, lam, sigma2, batch)
    assert sim[-100:].mean() == pytest.approx(float(floor), rel=0.04)


def test_the_floor_grows_with_eta_over_b():
    f = NF.stationary_excess_loss(np.array([0.01, 0.02, 0.04]), 1.0, 1.0)
    assert np.all(np.diff(f) > 0)
    # for small ηλ the floor is ≈ ησ²/(4B): doubling B halves it, doubling η doubles it
    assert NF.stationary_excess_loss(0.01, 1.0, 1.0, 2) == pytest.approx(f[0] / 2)
    assert f[1] / f[0] == pytest.approx(2, rel=0.01)
    assert np.isinf(NF.stationary_excess_loss(2.5, 1.0, 1.0))


def test_exact_recursion_equals_simulation_for_any_schedule():
    etas = NF.step_decay_schedule(0.5, 300, every=100, factor=0.1)
    exact = NF.expected_excess(etas, 1.0, 1.0, 3.0, 300)
    sim = NF.simulate(etas, 1.0, 1.0, 3.0, 300, runs=40000, seed=2)
    np.testing.assert_allclose(sim[1:], exact[1:], rtol=0.05)


def test_decay_goes_below_the_constant_floor_and_one_over_t_keeps_falling():
    lam, sigma2, steps = 1.0, 1.0, 4000
    floor = float(NF.stationary_excess_loss(0.5, lam, sigma2))
    step = NF.expected_excess(NF.step_decay_schedule(0.5, steps, every=1000, factor=0.1), lam, sigma2, 1.0, steps)
    inv = NF.expected_excess(NF.inverse_time_schedule(0.5, steps, t0=10), lam, sigma2, 1.0, steps)
    assert step[-1] < floor / 10 and inv[-1] < floor / 10
    assert inv[2000] > inv[4000]  # still going down: no floor for η_t ∝ 1/t


@pytest.mark.parametrize("call, message", [
    (lambda: NF.stationary_excess_loss(0.1, 0.0, 1.0), "lambda"),
    (lambda: NF.simulate(0.1, 1.0, 1.0, 0.0, 10, runs=0), "runs"),
    (lambda: NF.expected_excess([0.1, 0.1], 1.0, 1.0, 0.0, 3), "schedule"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
