"""The reference solutions of sets 03-momentum, 03-optimizers' Q5, 09-edge-of-stability and
10-searching-for-eta are right: each checked on the very inputs of its hidden tests against an
independent oracle (torch, scipy, pandas, brute force, numpy's eigenvalues of the full iteration
matrix), never against lrcourse.

Each master's code runs here in-process — it is the instructor's own — as in
test_exercises_oracles.py.
"""
import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import torch

from test_grading_helpers import calls, exercise, float64_by_default, master  # noqa: F401


pytestmark = pytest.mark.usefixtures("float64_by_default")


# --- 3a: momentum, tuned ----------------------------------------------------------------------

def _iteration_matrices(H, etas, betas):
    """Heavy ball's (θ_{t+1}, θ_t) = M (θ_t, θ_{t−1}) in the original coordinates, for every pair."""
    n = len(H)
    eye = np.eye(n)
    etas, betas = np.broadcast_arrays(np.asarray(etas, float), np.asarray(betas, float))
    M = np.zeros(etas.shape + (2 * n, 2 * n))
    M[..., :n, :n] = (1 + betas)[..., None, None] * eye - etas[..., None, None] * H
    M[..., :n, n:] = -betas[..., None, None] * eye
    M[..., n:, :n] = eye
    return M


def _spectral_radius(H, etas, betas):
    return np.abs(np.linalg.eigvals(_iteration_matrices(H, etas, betas))).max(axis=-1)


def test_tuned_heavy_ball_is_the_best_pair_on_a_brute_force_grid():
    ns, cases = master("03-momentum")
    for (H,), _ in calls(cases, "tuned_heavy_ball"):
        eta, beta = ns["tuned_heavy_ball"](H)
        E, B = np.meshgrid(np.linspace(0.5 * eta, 1.5 * eta, 201), np.linspace(0.0, 0.99, 199))
        rho = _spectral_radius(H, E, B)
        best = np.unravel_index(np.argmin(rho), rho.shape)
        assert rho.min() >= _spectral_radius(H, eta, beta) - 1e-6   # nothing on the grid beats it
        assert abs(E[best] - eta) <= 0.03 * eta + 1e-12
        assert abs(B[best] - beta) <= 0.03 * max(beta, 0.05)


def test_heavy_ball_rate_is_the_spectral_radius_of_the_full_iteration_matrix():
    ns, cases = master("03-momentum")
    for (H, eta, beta), _ in calls(cases, "heavy_ball_rate"):
        assert ns["heavy_ball_rate"](H, eta, beta) == pytest.approx(
            float(_spectral_radius(H, eta, beta)), rel=1e-6)
    # the chapter's two formulas, on κ = 100
    H = np.diag([1.0, 100.0])
    assert ns["heavy_ball_rate"](H, 2 / 101, 0.0) == pytest.approx(99 / 101, rel=1e-9)
    assert ns["heavy_ball_rate"](H, *ns["tuned_heavy_ball"](H)) == pytest.approx(9 / 11, rel=1e-6)


def test_heavy_ball_steps_count_torch_sgd_with_momentum():
    ns, cases = master("03-momentum")
    for (H, theta0, eta, beta, tol), kw in calls(cases, "heavy_ball_steps"):
        p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=eta, momentum=beta)
        Ht, want = torch.tensor(H), None
        for t in range(kw.get("max_steps", 10_000) + 1):
            norm = float(p.detach().norm())
            if not np.isfinite(norm):
                break
            if norm <= tol:
                want = t
                break
            p.grad = Ht @ p.detach()
            opt.step()
        assert ns["heavy_ball_steps"](H, theta0, eta, beta, tol, **kw) == want


def test_damping_from_numpys_roots():
    ns, cases = master("03-momentum")
    kinds = set()
    for (eta, beta, lam), _ in calls(cases, "damping"):
        z = np.roots([1.0, -(1 + beta - eta * lam), beta])
        kind = ("critically damped" if abs(z[0] - z[1]) < 1e-4 else
                "under-damped" if abs(z[0].imag) > 0 else "over-damped")
        assert ns["damping"](eta, beta, lam) == kind
        kinds.add(kind)
    assert len(kinds) == 3   # the hidden tests cover all three


# --- 3: optimizers, Q5: RMSprop's divisor ----------------------------------------------------

def test_rmsprop_divisors_are_torch_rmsprops_square_avg():
    ns, cases = master("03-optimizers")
    for (lams, theta0, lr, steps), kw in calls(cases, "rmsprop_divisors"):
        lam = torch.tensor(np.asarray(lams, dtype=float))
        p = torch.nn.Parameter(torch.tensor(np.asarray(theta0, dtype=float)))
        opt = torch.optim.RMSprop([p], lr=lr, alpha=kw.get("alpha", 0.99), eps=kw.get("eps", 1e-8))
        for _ in range(steps):
            p.grad = lam * p.detach()
            opt.step()
        want = opt.state[p]["square_avg"].sqrt().numpy() + kw.get("eps", 1e-8)
        np.testing.assert_allclose(ns["rmsprop_divisors"](lams, theta0, lr, steps, **kw), want, rtol=1e-9)


def test_rmsprop_divisor_tracks_the_hessian_diagonal_and_the_hidden_answers_are_stable():
    ns, _ = master("03-optimizers")
    lams = np.array([0.5, 4.0, 50.0])
    d = ns["rmsprop_divisors"](lams, [1.0, -1.0, 0.5], 0.02, 300, alpha=0.9)
    np.testing.assert_allclose(d / d[0], lams / lams[0], rtol=1e-2)
    # a perturbation of 1e-12 in θ0 moves every hidden answer far less than its tolerance (1e-6)
    for lams, th0, lr, steps, kw in [([0.25, 3.0, 30.0], [0.5, 1.0, -1.0], 0.03, 250, {"alpha": 0.9}),
                                     ([1.0, 100.0], [1.0, 0.37], 0.1, 100, {})]:
        a = ns["rmsprop_divisors"](lams, th0, lr, steps, **kw)
        b = ns["rmsprop_divisors"](lams, np.asarray(th0) * (1 + 1e-12), lr, steps, **kw)
        assert np.abs(a - b).max() <= 1e-9 * np.abs(a).max()


def test_preconditioned_condition_from_scipys_generalised_eigenproblem():
    ns, cases = master("03-optimizers")
    for (H, d), _ in calls(cases, "preconditioned_condition"):
        lam = scipy.linalg.eigh(H, np.diag(d), eigvals_only=True)   # H x = λ D x
        assert ns["preconditioned_condition"](H, d) == pytest.approx(lam.max() / lam.min(), rel=1e-9)


# --- 9: the edge of stability --------------------------------------------------------------------

TORCH_LOSSES = {
    "rosenbrock": lambda th: (1 - th[0]) ** 2 + 100 * (th[1] - th[0] ** 2) ** 2,
    "quartic": lambda th: (th**4).sum() / 4 + th[0] * th[1],
    "factorization": lambda th: 0.5 * (th[0] * th[1] - 1) ** 2,
}


def test_hvp_fd_against_torch_autograd_hessians():
    ns, cases = master("09-edge-of-stability")
    TORCH_LOSSES["quadratic"] = lambda th: 0.5 * th @ torch.tensor(ns["A3"]) @ th
    for (name, theta, v, *rest), _ in calls(cases, "hvp_on"):
        exact = torch.autograd.functional.hessian(TORCH_LOSSES[name], torch.tensor(theta)).numpy() @ v
        mine = ns["hvp_on"](name, theta, v, *rest)
        tol = 1e-8 if name == "quadratic" else 1e-3    # exact on a quadratic; O(ε²) elsewhere
        np.testing.assert_allclose(mine, exact, rtol=tol, atol=1e-6)
    # the central difference's error falls like ε² (a forward difference's like ε)
    th, v = np.array([-1.2, 1.0]), np.array([0.6, -0.8])
    exact = torch.autograd.functional.hessian(TORCH_LOSSES["rosenbrock"], torch.tensor(th)).numpy() @ v
    e1, e2 = (np.linalg.norm(ns["hvp_on"]("rosenbrock", th, v, eps) - exact) for eps in (1e-2, 5e-3))
    assert 3.5 < e1 / e2 < 4.5


def test_power_iteration_against_matrix_powers_and_eigh():
    ns, cases = master("09-edge-of-stability")
    for (H, v0, iters), _ in calls(cases, "power_iteration"):
        if iters <= 20:                  # a few products: exactly Hᵏv0's Rayleigh quotient
            w = np.linalg.matrix_power(H, iters) @ v0
            w = w / np.linalg.norm(w)
            assert ns["power_iteration"](H, v0, iters) == pytest.approx(w @ H @ w, rel=1e-9)
        else:                            # many: the eigenvalue of largest |λ|
            lam = np.linalg.eigvalsh(H)
            assert ns["power_iteration"](H, v0, iters) == pytest.approx(lam[np.argmax(np.abs(lam))], rel=1e-8)


def test_top_eigenvalue_is_eighs_largest():
    ns, cases = master("09-edge-of-stability")
    negative_first = 0
    for (H, v0, iters), _ in calls(cases, "top_eigenvalue"):
        lam = np.linalg.eigvalsh(H)
        negative_first += abs(lam.min()) > abs(lam.max())
        assert ns["top_eigenvalue"](H, v0, iters) == pytest.approx(lam.max(), rel=1e-8)
    assert negative_first >= 1      # the shift is exercised


def _torch_final_sharpness(a0, b0, y, eta, steps):
    p = torch.nn.Parameter(torch.tensor([a0, b0], dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=eta)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (p[0] * p[1] - y) ** 2).backward()
        opt.step()
        if not torch.isfinite(p).all():
            return None
    hess = torch.autograd.functional.hessian(lambda th: 0.5 * (th[0] * th[1] - y) ** 2, p.detach())
    return float(torch.linalg.eigvalsh(hess).max())


def test_final_sharpness_against_torch_sgd_and_below_two_over_eta():
    ns, cases = master("09-edge-of-stability")
    started_sharper = 0
    for (a0, b0, y, eta, steps), _ in calls(cases, "final_sharpness"):
        want = _torch_final_sharpness(a0, b0, y, eta, steps)
        mine = ns["final_sharpness"](a0, b0, y, eta, steps)
        if want is None:
            assert mine is None
            continue
        assert mine == pytest.approx(want, rel=1e-9)
        assert mine < 2 / eta                                  # it settled below the edge
        started_sharper += a0**2 + b0**2 > 2 / eta
        # a perturbation of 1e-12 moves the answer far less than the tolerance (rtol 1e-6)
        assert ns["final_sharpness"](a0 * (1 + 1e-12), b0, y, eta, steps) == pytest.approx(mine, rel=1e-8)
    assert started_sharper >= 2   # the catapult to a flatter minimum is tested


# --- 10: searching for η ---------------------------------------------------------------------------

def test_grid_and_random_etas():
    ns, cases = master("10-searching-for-eta")
    for (lo, hi, n), _ in calls(cases, "grid_etas"):
        np.testing.assert_allclose(ns["grid_etas"](lo, hi, n), np.geomspace(lo, hi, n), rtol=1e-12)
    for (lo, hi, n, seed), _ in calls(cases, "random_etas"):
        r = ns["random_etas"](lo, hi, n, seed)
        assert r.shape == (n,) and np.all((r >= lo) & (r <= hi))
        u = np.random.default_rng(seed).random(n)               # uniform(a, b) = a + (b − a)·random()
        np.testing.assert_allclose(r, lo * (hi / lo) ** u, rtol=1e-12)


def test_best_so_far_is_pandas_cummin():
    ns, cases = master("10-searching-for-eta")
    for (scores,), _ in calls(cases, "best_so_far"):
        want = pd.Series(np.asarray(scores, dtype=float)).fillna(np.inf).cummin().to_numpy()
        np.testing.assert_array_equal(ns["best_so_far"](scores), want)


def _halving_by_hand(curves, factor=3, min_epochs=1):
    """The bracket with plain Python lists: rank (loss, index) pairs at each rung."""
    n, E = len(curves), len(curves[0])
    inf = float("inf")
    loss = lambda i, r: inf if curves[i][r - 1] != curves[i][r - 1] else curves[i][r - 1]
    alive, spent, r = list(range(n)), {}, min_epochs
    while r < E and len(alive) > 1:
        ranked = sorted(alive, key=lambda i: (loss(i, r), i))
        keep = max(1, len(alive) // factor)
        spent.update({i: r for i in ranked[keep:]})
        alive = sorted(ranked[:keep])
        r *= factor
    spent.update({i: E for i in alive})
    return min(alive, key=lambda i: (loss(i, E), i)), sum(spent.values())


def test_successive_halving_against_a_plain_python_bracket():
    ns, cases = master("10-searching-for-eta")
    for (curves, *rest), kw in calls(cases, "successive_halving"):
        curves = np.asarray(curves, dtype=float)
        best, epochs = ns["successive_halving"](curves, *rest, **kw)
        assert (best, epochs) == _halving_by_hand(curves.tolist(), *rest, **kw)
        assert epochs < curves.size      # pruning saved epochs


def test_exploit_explore_properties_and_draws():
    ns, cases = master("10-searching-for-eta")
    for (scores, etas, fraction, seed, *rest), _ in calls(cases, "exploit_explore"):
        factors = rest[0] if rest else (0.8, 1.2)
        parents, new = ns["exploit_explore"](scores, etas, fraction, seed, *rest)
        s = pd.Series(np.asarray(scores, dtype=float)).fillna(np.inf)
        k = int(fraction * len(s))
        rank = s.rank(method="first").to_numpy() - 1            # 0 = best, ties by index
        top, bottom = np.flatnonzero(rank < k), np.flatnonzero(rank >= len(s) - k)
        changed = np.flatnonzero(parents != np.arange(len(s)))
        assert set(changed) <= set(bottom) and set(parents[bottom]) <= set(top)
        keep = np.setdiff1d(np.arange(len(s)), bottom)
        np.testing.assert_array_equal(new[keep], np.asarray(etas)[keep])
        rng = np.random.default_rng(seed)
        top_sorted = top[np.argsort(rank[top])]
        for i in bottom:                                         # increasing index
            j = top_sorted[rng.integers(k)]
            c = factors[rng.integers(len(factors))]
            assert parents[i] == j and new[i] == pytest.approx(etas[j] * c, rel=1e-12)
