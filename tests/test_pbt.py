"""PBT: exploit copies exactly, explore perturbs by the stated factors, runs are deterministic,
and the population does at least as well as the fixed-η runs it started from."""
import numpy as np
import pytest
import torch

from lrcourse.search import pbt
from lrcourse.search import objective as search

TASK = search.Task(epochs=10)


def trained(eta, seed, epochs=2):
    run = search.Run(TASK, eta, seed)
    for _ in range(epochs):
        run.epoch()
    return run


def test_exploit_copies_weights_optimizer_state_and_eta():
    winner, loser = trained(0.05, seed=1), trained(0.001, seed=2)
    pbt.exploit(loser, winner)
    for a, b in zip(loser.model.parameters(), winner.model.parameters()):
        assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()
    assert loser.eta == winner.eta == 0.05
    assert loser.val_loss == winner.val_loss
    for pl, pw in zip(loser.model.parameters(), winner.model.parameters()):
        vl, vw = loser.optimizer.state[pl]["momentum_buffer"], winner.optimizer.state[pw]["momentum_buffer"]
        assert torch.equal(vl, vw) and vl.data_ptr() != vw.data_ptr()
    # copies, not shared: training the winner further leaves the loser where it was
    before = [p.clone() for p in loser.model.parameters()]
    winner.epoch()
    assert all(torch.equal(a, b) for a, b in zip(before, loser.model.parameters()))
    # and from now on the loser trains exactly as the winner would have
    twin = trained(0.05, seed=1, epochs=2)
    twin.generator.set_state(loser.generator.get_state())
    assert loser.epoch() == twin.epoch()


def test_exploit_rescues_a_diverged_member():
    winner, loser = trained(0.05, seed=1), trained(1e3, seed=2, epochs=1)
    assert loser.diverged_at == 0
    pbt.exploit(loser, winner)
    assert loser.diverged_at is None and np.isfinite(loser.epoch())


def test_explore_multiplies_eta_by_the_factors():
    rng = np.random.default_rng(0)
    run = search.Run(TASK, 0.01)
    seen = []
    for _ in range(200):
        before = run.eta
        c = pbt.explore(run, rng)
        assert c in (0.8, 1.2) and run.eta == pytest.approx(before * c, rel=1e-15)
        seen.append(c)
    assert 80 <= seen.count(0.8) <= 120  # a fair coin: 100 ± 20 (3 sd ≈ 21)
    again = np.random.default_rng(0)
    assert [pbt.explore(search.Run(TASK, 0.01), again) for _ in range(200)] == seen


def test_truncation_selection():
    bottom, top = pbt.truncation([0.3, 0.1, np.inf, 0.2, 0.1, 0.5, 0.4, 0.25], 0.25)
    assert sorted(bottom) == [2, 5] and list(top) == [1, 4]  # ties broken by index
    assert pbt.truncation([1.0, 2.0, 3.0], 0.0)[0].size == 0
    with pytest.raises(ValueError, match="Invalid fraction"):
        pbt.truncation([1.0], 0.6)


def test_rounds_follow_exploit_and_explore_and_are_deterministic():
    a = pbt.pbt(TASK, population=6, rounds=4, seed=5)
    b = pbt.pbt(TASK, population=6, rounds=4, seed=5)
    np.testing.assert_array_equal(a.etas, b.etas)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.parents, b.parents)
    for r in range(3):
        bottom, top = pbt.truncation(a.scores[r], 0.25)
        for p in range(6):
            q = a.parents[r, p]
            if p in bottom:
                assert q in top
                assert a.etas[r + 1, p] / a.etas[r, q] in (pytest.approx(0.8), pytest.approx(1.2))
            else:
                assert q == p and a.etas[r + 1, p] == a.etas[r, p]
    slots, etas = pbt.lineage(a)
    assert slots[-1] == a.best and etas[-1] == a.etas[-1, a.best]
    assert a.epochs_spent == 6 * 4


def test_no_exploit_is_independent_fixed_eta_runs():
    etas = [0.001, 0.02, 0.2]
    fixed = pbt.pbt(TASK, population=3, rounds=3, fraction=0.0, etas=etas, seed=0)
    assert (fixed.etas == np.array(etas)).all()
    for p, eta in enumerate(etas):
        run = trained(eta, seed=p, epochs=3)
        assert fixed.scores[-1, p] == run.val_loss
    np.testing.assert_array_equal(pbt.lineage(fixed, 1)[0], [1, 1, 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pbt_beats_its_initial_members(seed):
    """Same initial η's, θ_0's and batch orders, same 80 epochs. Asserted: PBT's best final
    hold-out loss is finite and at most the best fixed-η member's — measured true for seeds
    0–3 on this task, not a law."""
    with_pbt = pbt.pbt(TASK, population=8, rounds=10, seed=seed)
    fixed = pbt.pbt(TASK, population=8, rounds=10, seed=seed, fraction=0.0)
    np.testing.assert_array_equal(with_pbt.etas[0], fixed.etas[0])
    assert np.isfinite(with_pbt.scores[-1].min())
    assert with_pbt.scores[-1].min() <= fixed.scores[-1].min()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="Invalid population"):
        pbt.pbt(TASK, population=0)
    with pytest.raises(ValueError, match="Invalid fraction"):
        pbt.pbt(TASK, population=4, fraction=0.75)
    with pytest.raises(ValueError, match="Invalid train_seeds"):
        pbt.pbt(TASK, population=3, train_seeds=[0, 1])
    with pytest.raises(ValueError, match="Invalid etas"):
        pbt.pbt(TASK, population=3, etas=[0.1, 0.2])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        pbt.pbt(TASK, population=2, etas=[0.1, -0.2])
