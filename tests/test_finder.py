"""The LR range test: the ramp, the smoothing, where it stops on a quadratic with known λ_max,
state restoration, the suggestion rules, and a real classifier."""
import copy
import math
from statistics import NormalDist

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from torch.utils.data import DataLoader, TensorDataset

from lrcourse.choosing.finder import RULES, RangeTestResult, debiased_ema, exponential_ramp, lr_range_test, suggest_lrs


# ---------------------------------------------------------------- fixtures
class Quadratic(torch.nn.Module):
    """L(θ; x) = ½ mean_b (θ − x_b)ᵀ H (θ − x_b); with x = 0 it is L(θ) = ½ θᵀHθ."""

    def __init__(self, H, theta0):
        super().__init__()
        self.theta = torch.nn.Parameter(theta0.clone())
        self.register_buffer("H", H)

    def forward(self, x):
        r = self.theta - x
        return 0.5 * torch.einsum("bi,ij,bj->b", r, self.H, r).mean()


def loss_is_output(out, _y):
    return out


def rotated_hessian(lams, seed, dtype=torch.float64):
    """H = Q diag(λ) Qᵀ with a seeded random orthogonal Q; returns (H, Q)."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(lams), len(lams), generator=gen, dtype=dtype))
    return q @ torch.diag(torch.tensor(lams, dtype=dtype)) @ q.T, q


def sgd(params):
    return torch.optim.SGD(params, lr=1.0)


def blobs_batches(batch=50):
    x, y = make_blobs(n_samples=500, centers=3, random_state=0)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    return x, y, [(x[i:i + batch], y[i:i + batch]) for i in range(0, 500, batch)]


def mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.ReLU(), torch.nn.Linear(50, 3))


# ---------------------------------------------------------------- ramp and smoothing
def test_ramp_is_the_exponential_schedule_and_is_what_the_optimizer_sees():
    seen = []
    model = Quadratic(torch.eye(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    opt = torch.optim.SGD(model.parameters(), lr=0.123)

    def loss_fn(out, _y):
        seen.append(opt.param_groups[0]["lr"])
        return out

    res = lr_range_test(model, opt, [(torch.zeros(1, 2, dtype=torch.float64), None)], loss_fn,
                        start_lr=1e-4, end_lr=1e-1, num_iter=25, diverge_factor=math.inf)
    i = np.arange(25)
    expected = 1e-4 * (1e-1 / 1e-4) ** (i / 24)
    np.testing.assert_allclose(res.lrs, expected, rtol=1e-15)
    np.testing.assert_array_equal(np.array(seen), res.lrs)
    assert res.lrs[0] == 1e-4 and res.lrs[-1] == pytest.approx(1e-1, rel=1e-15)
    assert res.stop_reason == "completed" and res.stop_index is None and len(res.losses) == 25
    assert opt.param_groups[0]["lr"] == 0.123  # the optimizer's own η is back


def test_raw_losses_follow_the_closed_form_of_sgd_on_a_quadratic():
    """In H's eigenbasis each coordinate scales by (1 − η_i λ_k) per step, so
    L_i = ½ Σ_k λ_k c_k² Π_{m<i} (1 − η_m λ_k)²  (c = Qᵀθ₀)."""
    lams = [3.0, 1.0, 0.2]
    H, Q = rotated_hessian(lams, seed=1)
    theta0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    res = lr_range_test(Quadratic(H, theta0), sgd, [(torch.zeros(1, 3, dtype=torch.float64), None)],
                        loss_is_output, start_lr=1e-3, end_lr=0.6, num_iter=40, diverge_factor=math.inf)
    c = (Q.T @ theta0).numpy()
    lam = np.array(lams)
    factors = (1.0 - np.outer(res.lrs, lam)) ** 2                       # (N, d)
    decay = np.vstack([np.ones(3), np.cumprod(factors, axis=0)[:-1]])    # Π over m < i
    expected = 0.5 * (decay * lam * c**2).sum(axis=1)
    np.testing.assert_allclose(res.losses, expected, rtol=1e-12)


def test_debiased_ema_equals_the_normalised_weighted_average():
    """L̃_i = avg_i / (1 − β^(i+1)) equals Σ_k β^(i−k) L_k / Σ_k β^(i−k): a direct computation."""
    x, y, batches = blobs_batches()
    res = lr_range_test(mlp(0), sgd, batches, torch.nn.functional.cross_entropy, num_iter=60, smooth=0.9)
    L = res.losses
    direct = np.array([np.dot(0.9 ** (i - np.arange(i + 1)), L[: i + 1]) / np.sum(0.9 ** np.arange(i + 1))
                       for i in range(len(L))])
    np.testing.assert_allclose(res.smoothed, direct, rtol=1e-12)
    np.testing.assert_allclose(debiased_ema(L, 0.9), direct, rtol=1e-12)
    # debiasing removes the start-up bias: a constant stays that constant from the first step
    np.testing.assert_allclose(debiased_ema(np.full(50, 2.5), 0.98), 2.5, rtol=1e-12)
    np.testing.assert_array_equal(debiased_ema(L, 0.0), L)  # β = 0: no smoothing


# ---------------------------------------------------------------- the quadratic: η = 2/λ_max
def _growth_steps(r, x0, target):
    """Smallest j with Π_{m<j} (x0·r^m − 1)² > target."""
    prod, j = 1.0, 0
    while prod <= target:
        prod *= (x0 * r**j - 1.0) ** 2
        j += 1
    return j


@pytest.mark.parametrize("lam_max", [4.0, 40.0, 0.7])
def test_raw_loss_turns_and_the_test_stops_just_past_two_over_lambda_max(lam_max):
    """Exact case: θ₀ on H's top eigenvector, no smoothing (β = 0), factor 4.

    Then L_{i+1} = (1 − η_i λ_max)² L_i exactly, so
    - L falls while η_i ≤ 2/λ_max and rises after: its argmin c is the first grid point past
      2/λ_max, i.e. η_{c−1} ≤ 2/λ_max < η_c — the grid's own resolution;
    - the test stops at the first j with L_{c+j}/L_c = Π_{m<j} (η_c λ r^m − 1)² > 4, and
      since η_c λ ∈ (2, 2r], j lies between j_fast (η_cλ = 2r) and j_slow (η_cλ → 2⁺).
    """
    lams = [lam_max, lam_max / 3, lam_max / 10, lam_max / 100]
    H, Q = rotated_hessian(lams, seed=0)
    theta0 = 3.0 * Q[:, 0]
    res = lr_range_test(Quadratic(H, theta0), sgd, [(torch.zeros(1, 4, dtype=torch.float64), None)],
                        loss_is_output, smooth=0.0)  # fastai's ramp: 1e-7 … 10, 100 steps
    r = res.lrs[1] / res.lrs[0]
    edge = 2.0 / lam_max
    c = int(np.argmin(res.losses))
    assert res.lrs[c - 1] <= edge < res.lrs[c]
    j_fast, j_slow = _growth_steps(r, 2 * r, 4.0), _growth_steps(r, 2.0, 4.0)
    assert res.stop_reason == "diverged"
    assert j_fast <= res.stop_index - c <= j_slow
    # in η: the stop is past the edge by a factor in (r^j_fast, r^(j_slow+1)] — here (1.45, 2.1]
    assert r**j_fast < res.stop_lr / edge <= r ** (j_slow + 1)


def _expected_noisy_quadratic_stop(lrs, lams, sigma2_batch, floor, smooth, factor):
    """Index where the *expected* loss curve would trip the stop rule.

    Started at the optimum, the k-th eigen-coordinate obeys e ← (1 − ηλ_k) e + ηλ_k ξ with
    ξ ~ N(0, σ²/B), so v_k = E e_k² follows v_k ← (1 − ηλ_k)² v_k + η²λ_k² σ²/B, and
    E L_i = ½ Σ_k λ_k v_k + floor (the batch's own spread, ½ σ² tr H).
    """
    lam = np.asarray(lams)
    v = np.zeros_like(lam)
    expected = []
    for eta in lrs:
        expected.append(0.5 * float(lam @ v) + floor)
        v = (1 - eta * lam) ** 2 * v + eta**2 * lam**2 * sigma2_batch
    s = debiased_ema(expected, smooth)
    over = s > factor * np.minimum.accumulate(s)
    return int(np.argmax(over))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_smoothing_on_a_noisy_quadratic_stops_a_few_steps_past_two_over_lambda_max(seed):
    """Minibatch noise (x ~ N(0, σ²I), fresh batches) keeps the top mode alive, as in real
    training; with fastai's defaults (β = 0.98, factor 4) the stop lags the edge 2/λ_max.

    Tolerance, derived: the realised top-mode amplitude is √v·z with z ~ N(0, 1); a draw z
    shifts the step where the loss crosses the 4× threshold by log(z²)/log g, where
    g = (η λ_max − 1)² is the loss's growth per step there.  With 99 % bounds on |z|
    (0.0125 … 2.576) the stop lies in [i_E − ⌈log z_hi² / log g_{i_E−1}⌉, i_E + ⌈log z_lo⁻² / log g_{i_E}⌉].
    """
    lams = [4.0, 2.0, 1.0, 0.5, 0.25, 0.1]
    d, sigma, B, N = len(lams), 1.0, 10, 100
    H, _ = rotated_hessian(lams, seed=seed)
    gen = torch.Generator().manual_seed(100 + seed)
    X = sigma * torch.randn(N * B, d, generator=gen, dtype=torch.float64)
    batches = [(X[i * B:(i + 1) * B], None) for i in range(N)]  # N fresh batches: no reuse
    res = lr_range_test(Quadratic(H, torch.zeros(d, dtype=torch.float64)), sgd, batches, loss_is_output)

    lam_max, edge = max(lams), 2.0 / max(lams)
    floor = 0.5 * sigma**2 * sum(lams)
    lrs = exponential_ramp(1e-7, 10, N)  # the ramp the test used (its defaults)
    i_e = _expected_noisy_quadratic_stop(lrs, lams, sigma**2 / B, floor, 0.98, 4.0)
    nd = NormalDist()
    z_lo, z_hi = nd.inv_cdf(0.5 + 0.005), nd.inv_cdf(1 - 0.005)  # P(|z| < z_lo) = P(|z| > z_hi) = 1 %
    g_at, g_before = (lrs[i_e] * lam_max - 1) ** 2, (lrs[i_e - 1] * lam_max - 1) ** 2
    late = math.ceil(math.log(1 / z_lo**2) / math.log(g_at))
    early = math.ceil(math.log(z_hi**2) / math.log(g_before))
    assert res.stop_reason == "diverged"
    assert i_e - early <= res.stop_index <= i_e + late, (res.stop_index, i_e, early, late)
    assert res.stop_lr > edge  # it never stops on the stable side
    # ... and every suggestion is a stable step size for SGD here: η < 2/λ_max
    assert all(s.lr < edge for s in res.suggestions.values())


# ---------------------------------------------------------------- state restoration
def _snapshot(model, opt):
    return (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()),
            [None if p.grad is None else p.grad.clone() for p in model.parameters()])


def _tensor_bytes_equal(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.numpy().tobytes() == b.numpy().tobytes()


def _assert_same_state(before, after):
    (m0, o0, g0), (m1, o1, g1) = before, after
    assert m0.keys() == m1.keys()
    assert all(_tensor_bytes_equal(m0[k], m1[k]) for k in m0)
    assert o0["param_groups"] == o1["param_groups"]
    assert o0["state"].keys() == o1["state"].keys()
    for k in o0["state"]:
        s0, s1 = o0["state"][k], o1["state"][k]
        assert s0.keys() == s1.keys()
        for name in s0:
            assert _tensor_bytes_equal(torch.as_tensor(s0[name]), torch.as_tensor(s1[name])), name
    assert all((a is None and b is None) or _tensor_bytes_equal(a, b) for a, b in zip(g0, g1))


def test_model_optimizer_grads_mode_and_rng_are_restored():
    x, y, _ = blobs_batches()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.BatchNorm1d(50), torch.nn.ReLU(),
                                torch.nn.Dropout(0.2), torch.nn.Linear(50, 3))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(3):  # give Adam some state (step, exp_avg, exp_avg_sq) and BatchNorm some statistics
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[:64]), y[:64]).backward()
        opt.step()
    model.eval()
    before = _snapshot(model, opt)
    rng = torch.get_rng_state()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    res = lr_range_test(model, opt, loader, torch.nn.functional.cross_entropy, num_iter=80, seed=5)
    assert len(res.losses) > 20
    _assert_same_state(before, _snapshot(model, opt))
    assert not model.training
    assert torch.equal(torch.get_rng_state(), rng)
    # the optimizer still drives the very same parameters
    w = model[0].weight.detach().clone()
    model.train()
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x[:64]), y[:64]).backward()
    opt.step()
    assert not torch.equal(model[0].weight, w)


def test_factory_and_errors_leave_the_model_untouched():
    x, y, batches = blobs_batches()
    model = mlp(1)
    before = copy.deepcopy(model.state_dict())
    lr_range_test(model, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), batches,
                  torch.nn.functional.cross_entropy, num_iter=30)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    one_shot = iter(batches)  # 10 batches, cannot be restarted: the ramp of 30 must fail …
    with pytest.raises(ValueError, match="re-iterable"):
        lr_range_test(model, sgd, one_shot, torch.nn.functional.cross_entropy, num_iter=30)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # … cleanly


def test_batches_are_cycled_in_order_and_the_seed_reproduces_a_shuffled_run():
    seen = []
    model = Quadratic(torch.eye(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    batches = [(torch.zeros(1, 1, dtype=torch.float64), k) for k in range(3)]
    lr_range_test(model, sgd, batches, lambda out, k: seen.append(k) or out, num_iter=10, start_lr=1e-6,
                  end_lr=1e-3)
    assert seen == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]

    x, y, _ = blobs_batches()
    loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True)
    runs = [lr_range_test(mlp(0), sgd, loader, torch.nn.functional.cross_entropy, num_iter=40, seed=s).losses
            for s in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_nan_stops_the_test_and_is_kept_as_a_result():
    model = Quadratic(torch.eye(3), torch.ones(3))  # float32: overflows to inf quickly
    res = lr_range_test(model, sgd, [(torch.zeros(1, 3), None)], loss_is_output,
                        start_lr=3.0, end_lr=1e4, num_iter=200, diverge_factor=math.inf)
    assert res.stop_reason == "nan"
    assert len(res.losses) == res.stop_index + 1 and not np.isfinite(res.smoothed[-1])
    assert np.all(np.isfinite(res.losses[:-1]))
    assert all(s is None or np.isfinite(s.lr) for s in res.suggestions.values())


@pytest.mark.parametrize("kwargs,err,match", [
    ({"start_lr": 1.0, "end_lr": 1.0}, ValueError, "Invalid learning rate range: start_lr=1.0 must be < end_lr=1.0"),
    ({"start_lr": 10.0, "end_lr": 1.0}, ValueError, "Invalid learning rate range"),
    ({"start_lr": -1.0}, ValueError, "Invalid start_lr: -1.0"),
    ({"start_lr": 0.0}, ValueError, "Invalid start_lr: 0.0"),
    ({"num_iter": 1}, ValueError, "Invalid num_iter: 1"),
    ({"num_iter": 2.5}, ValueError, "Invalid num_iter: 2.5"),
    ({"smooth": 1.0}, ValueError, r"Invalid smooth value: 1.0 \(β must be in \[0, 1\)\)"),
    ({"smooth": -0.1}, ValueError, "Invalid smooth value: -0.1"),
    ({"diverge_factor": 1.0}, ValueError, "Invalid diverge_factor: 1.0"),
])
def test_invalid_arguments(kwargs, err, match):
    model = mlp(0)
    with pytest.raises(err, match=match):
        lr_range_test(model, sgd, blobs_batches()[2], torch.nn.functional.cross_entropy, **kwargs)


def test_invalid_optimizer_and_empty_batches():
    with pytest.raises(TypeError, match="Optimizer"):
        lr_range_test(mlp(0), 0.1, blobs_batches()[2], torch.nn.functional.cross_entropy)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_range_test(mlp(0), lambda p: None, blobs_batches()[2], torch.nn.functional.cross_entropy)
    with pytest.raises(ValueError, match="yields nothing"):
        lr_range_test(mlp(0), sgd, [], torch.nn.functional.cross_entropy)


# ---------------------------------------------------------------- the suggestion rules
def test_rules_on_curves_with_known_answers():
    lrs = exponential_ramp(1e-6, 1.0, 121)          # 20 points per decade
    u = np.log10(lrs)
    # steep: the steepest point of a tanh step in log η is its centre, 1e-3 (on the grid)
    s = suggest_lrs(lrs, 1.0 - np.tanh((u + 3.0) / 0.4))
    assert s["steep"].lr == pytest.approx(1e-3, rel=1e-9)
    # minimum/10: a parabola in log η with its vertex at 1e-2 (on the grid)
    s = suggest_lrs(lrs, (u + 2.0) ** 2)
    assert s["minimum/10"].lr == pytest.approx(1e-3, rel=1e-9)
    assert s["minimum/10"].index == 80
    # valley: flat (equal values), then a strictly falling stretch from index 40 to 90, then up
    y = np.r_[np.ones(41), np.linspace(1.0, 0.0, 51)[1:], np.linspace(0.0, 2.0, 31)[1:]]
    s = suggest_lrs(lrs, y)
    # the longest valley: 51 points (one flat point + 50 falling ones) ending at 90 → [40, 90]
    assert s["valley"].index == 65
    assert all(s[name].rule == RULES[name] for name in RULES)


def test_trimming_and_nan_cut():
    lrs = exponential_ramp(1e-4, 1.0, 50)
    y = np.linspace(2.0, 1.0, 50)
    y[30] = np.nan
    s = suggest_lrs(lrs, y, skip_start=5, skip_end=5)
    assert s["minimum/10"].index == 29  # the window ends just before the first NaN
    assert suggest_lrs(lrs[:7], y[:7], skip_start=5, skip_end=0)["valley"] is None  # < 3 points
    with pytest.raises(ValueError, match="differ in length"):
        suggest_lrs(lrs, y[:-1])


# ---------------------------------------------------------------- a real classifier
@pytest.mark.parametrize("make_opt", [lambda p: torch.optim.SGD(p, lr=0.1),
                                      lambda p: torch.optim.Adam(p)], ids=["sgd", "adam"])
def test_classifier_suggestions_are_in_a_sensible_order_and_train(make_opt):
    """On the make_blobs MLP (2→50→3), for two initialisations, we assert:
    start_lr < valley, steep ≤ η at the minimum of L̃ (they sit on the descent); minimum/10 is
    a decade below that minimum; all suggestions are below where the test stopped; and
    10 epochs at each suggestion lower the full-batch loss by ≥ 20 %, which start_lr does not."""
    x, y, batches = blobs_batches()
    for seed in (0, 1):
        res = lr_range_test(mlp(seed), make_opt, batches, torch.nn.functional.cross_entropy)
        s = res.suggestions
        lr_at_min = s["minimum/10"].lr * 10
        assert lr_at_min == pytest.approx(res.lrs[s["minimum/10"].index])
        assert res.start_lr < s["valley"].lr <= lr_at_min
        assert res.start_lr < s["steep"].lr <= lr_at_min
        if res.stop_index is not None:
            assert max(v.lr for v in s.values()) < res.stop_lr

        def ten_epochs(lr):
            model = mlp(seed)
            opt = make_opt(model.parameters())
            for g in opt.param_groups:
                g["lr"] = lr
            start = torch.nn.functional.cross_entropy(model(x), y).item()
            for _ in range(10):
                for xb, yb in batches:
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(model(xb), yb).backward()
                    opt.step()
            return torch.nn.functional.cross_entropy(model(x), y).item() / start

        for name, sug in s.items():
            assert ten_epochs(sug.lr) < 0.8, (name, sug.lr)
        assert ten_epochs(res.start_lr) > 0.99


def test_plot_marks_each_rule():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = lr_range_test(mlp(0), lambda p: torch.optim.Adam(p), blobs_batches()[2],
                        torch.nn.functional.cross_entropy)
    assert isinstance(res, RangeTestResult)
    fig, ax = plt.subplots()
    from lrcourse.viz.range_test import range_test_plot
    assert range_test_plot(res, ax) is ax
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for name, rule in RULES.items():
        assert any(lab.startswith(f"{name} η=") and rule in lab for lab in labels), name
    assert any(lab.startswith("stopped") for lab in labels) == (res.stop_index is not None)
    plt.close(fig)
