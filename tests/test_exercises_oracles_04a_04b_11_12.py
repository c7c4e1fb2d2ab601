"""Sets 04a, 04b, 11 and 12: the reference solutions are right, checked against independent oracles.

Each master's code runs here in-process (it is the instructor's own) on the very inputs of its
hidden tests, and its answers are compared with something that does not share its code: a
Monte Carlo simulation written here, brute force, torch (Adam, AdamW, clip_grad_norm_,
scaled_dot_product_attention), the `schedulefree` and `mup` packages, or the stability of
the iteration itself. Nothing here calls lrcourse's own implementations.
"""
import numpy as np
import pytest
import torch
from torch import nn

from test_grading_helpers import calls, exercise, float64_by_default, master  # noqa: F401


pytestmark = pytest.mark.usefixtures("float64_by_default")


# --- 04a: the noise floor ---------------------------------------------------------------------

def _monte_carlo(etas, lam, sigma2, theta0, batch_size, runs, seed=0):
    """Mean of ½λθ_t² over many independent noisy SGD runs, t = 0 … T."""
    rng = np.random.default_rng(seed)
    theta = np.full(runs, float(theta0))
    out = [0.5 * lam * theta0 ** 2]
    for eta in etas:
        xi = rng.normal(0.0, np.sqrt(sigma2 / batch_size), runs)
        theta = theta - eta * (lam * theta + xi)
        out.append(0.5 * lam * np.mean(theta ** 2))
    return np.array(out)


def test_noise_floor_is_where_a_long_simulation_settles():
    ns, cases = master("04a-why-decay")
    for (eta, lam, sigma2, *rest), kw in calls(cases, "noise_floor"):
        batch = rest[0] if rest else kw.get("batch_size", 1)
        floor = ns["noise_floor"](eta, lam, sigma2, *rest, **kw)
        q = eta * lam
        if not 0 < q < 2:
            assert floor == np.inf
            curve = _monte_carlo(np.full(200, eta), lam, sigma2, 0.0, batch, 2000)
            assert curve[200] > 5 * curve[20]        # it keeps growing (linearly at ηλ = 2): no floor
            continue
        settle = int(20 / (q * (2 - q))) + 50
        curve = _monte_carlo(np.full(settle + 400, eta), lam, sigma2, 0.0, batch, 20000)
        assert np.mean(curve[settle:]) == pytest.approx(floor, rel=0.03)


def test_expected_excess_matches_monte_carlo():
    ns, cases = master("04a-why-decay")
    for (etas, lam, sigma2, theta0, *rest), kw in calls(cases, "expected_excess"):
        batch = rest[0] if rest else kw.get("batch_size", 1)
        exact = ns["expected_excess"](etas, lam, sigma2, theta0, *rest, **kw)
        mc = _monte_carlo(etas, lam, sigma2, theta0, batch, 200000, seed=1)
        np.testing.assert_allclose(exact, mc, rtol=0.03, atol=1e-3 * mc.max())


def test_simulate_sgd_matches_a_run_by_run_loop():
    ns, cases = master("04a-why-decay")
    for (etas, lam, theta0, noise), kw in calls(cases, "simulate_sgd"):
        losses = np.zeros((len(etas) + 1, noise.shape[1]))
        for r in range(noise.shape[1]):
            th = theta0
            losses[0, r] = 0.5 * lam * th * th
            for t, eta in enumerate(etas):
                th = th - eta * (lam * th + noise[t, r])
                losses[t + 1, r] = 0.5 * lam * th * th
        np.testing.assert_allclose(ns["simulate_sgd"](etas, lam, theta0, noise), losses.mean(axis=1), rtol=1e-12)


def test_steps_below_floor_is_the_first_crossing_of_the_formula_floor():
    ns, cases = master("04a-why-decay")
    for (eta0, lam, sigma2, theta0, steps), kw in calls(cases, "steps_below_floor"):
        t0, batch = kw.get("t0", 1.0), kw.get("batch_size", 1)
        floor = eta0 * sigma2 / (2 * batch * (2 - eta0 * lam))
        curve = ns["expected_excess"](eta0 * t0 / (t0 + np.arange(steps)), lam, sigma2, theta0, batch)
        t = ns["steps_below_floor"](eta0, lam, sigma2, theta0, steps, **kw)
        if t is None:
            assert curve.min() >= floor
        else:
            assert curve[t] < floor and (t == 0 or curve[:t].min() >= floor)


# --- 04b: step sizes the algorithm picks ------------------------------------------------------

def _loss_and_grad(H, b, theta):
    p = torch.tensor(theta, requires_grad=True)
    loss = 0.5 * p @ torch.tensor(H) @ p - torch.tensor(b) @ p
    loss.backward()
    return float(loss.detach()), p.grad.numpy()


def test_armijo_step_takes_the_first_accepted_trial_by_brute_force():
    ns, cases = master("04b-step-sizes")
    for (H, b, theta), kw in calls(cases, "armijo_step"):
        eta0, c = kw.get("eta0", 1.0), kw.get("c", 1e-4)
        shrink, trials = kw.get("shrink", 0.5), kw.get("max_trials", 50)
        loss, g = _loss_and_grad(H, b, theta)
        accepted = [k for k in range(trials)
                    if _loss_and_grad(H, b, theta - eta0 * shrink ** k * g)[0]
                    <= loss - c * eta0 * shrink ** k * (g @ g)]
        new, eta, n = ns["armijo_step"](H, b, theta, **kw)
        if accepted:
            k = accepted[0]
            assert eta == pytest.approx(eta0 * shrink ** k, rel=1e-12) and n == k + 2
            np.testing.assert_allclose(new, theta - eta * g, rtol=1e-12)
        else:
            assert eta == 0.0 and n == trials + 1 and np.array_equal(new, theta)


def test_polyak_eta_reaches_the_minimum_value_along_the_linearisation():
    ns, cases = master("04b-step-sizes")
    for (H, b, theta, f_star), kw in calls(cases, "polyak_eta"):
        loss, g = _loss_and_grad(H, b, theta)
        eta = ns["polyak_eta"](H, b, theta, f_star, **kw)
        cap = kw.get("eta_max", np.inf)
        if loss <= f_star:
            assert eta == 0.0
        elif eta < cap:
            assert loss - eta * (g @ g) == pytest.approx(f_star, rel=1e-12, abs=1e-12)
        else:
            assert eta == cap and loss - cap * (g @ g) > f_star


def test_polyak_descent_with_torch_gradients():
    ns, cases = master("04b-step-sizes")
    for (H, b, theta0, f_star, steps), kw in calls(cases, "polyak_descent"):
        theta, losses = np.array(theta0, dtype=float), []
        for _ in range(steps + 1):
            loss, g = _loss_and_grad(H, b, theta)
            losses.append(loss)
            eta = min(max(loss - f_star, 0.0) / (g @ g), kw.get("eta_max", np.inf)) if g @ g else 0.0
            theta = theta - eta * g
        np.testing.assert_allclose(ns["polyak_descent"](H, b, theta0, f_star, steps, **kw), losses,
                                   rtol=1e-9, atol=1e-12)


def test_clipped_step_is_torch_clip_grad_norm_then_sgd():
    ns, cases = master("04b-step-sizes")
    for (theta, grad, eta, max_norm), _ in calls(cases, "clipped_step"):
        p = nn.Parameter(torch.tensor(theta, dtype=torch.float64))
        p.grad = torch.tensor(grad, dtype=torch.float64)
        nn.utils.clip_grad_norm_([p], max_norm)          # adds 1e-6 to the norm: rtol 1e-6
        torch.optim.SGD([p], lr=eta).step()
        np.testing.assert_allclose(ns["clipped_step"](theta, grad, eta, max_norm), p.detach().numpy(),
                                   rtol=1e-6, atol=1e-9)


# --- 11: AdamW, Adam + L2, warm-up, μP -----------------------------------------------------------

def _torch_step(cls, theta, grad, m, v, t, eta, wd, beta1=0.9, beta2=0.999, eps=1e-8):
    p = nn.Parameter(torch.tensor(theta))
    opt = cls([p], lr=eta, weight_decay=wd, betas=(beta1, beta2), eps=eps)
    opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": torch.tensor(m).clone(),
                    "exp_avg_sq": torch.tensor(v).clone()}
    p.grad = torch.tensor(grad)
    opt.step()
    s = opt.state[p]
    return p.detach().numpy(), s["exp_avg"].numpy(), s["exp_avg_sq"].numpy()


@pytest.mark.parametrize("func, cls", [("adamw_step", torch.optim.AdamW), ("adam_l2_step", torch.optim.Adam)])
def test_adam_steps_equal_torch(func, cls):
    ns, cases = master("11-modern-practice")
    for args, kw in calls(cases, func):
        for ours, theirs in zip(ns[func](*args, **kw), _torch_step(cls, *args, **kw)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_adam_run_equals_torch_on_the_quadratic():
    ns, cases = master("11-modern-practice")
    for (H, b, theta0, eta, wd, steps), kw in calls(cases, "adam_run"):
        p = nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
        opt = (torch.optim.AdamW if kw.get("decoupled", True) else torch.optim.Adam)([p], lr=eta, weight_decay=wd)
        for _ in range(steps):
            p.grad = (torch.tensor(H) @ p - torch.tensor(b)).detach()
            opt.step()
        np.testing.assert_allclose(ns["adam_run"](H, b, theta0, eta, wd, steps, **kw), p.detach().numpy(),
                                   rtol=1e-9, atol=1e-12)


def test_linear_warmup_equals_torch_lambdalr():
    ns, cases = master("11-modern-practice")
    for (eta, steps, warmup), _ in calls(cases, "linear_warmup"):
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=eta)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, t / warmup) if warmup else 1.0)
        lrs = []
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        np.testing.assert_allclose(ns["linear_warmup"](eta, steps, warmup), lrs, rtol=1e-12)


def _frozen_adam_norm(H, p_diag, beta1, eta, steps=3000):
    """‖θ‖ after heavy-ball steps m ← β1·m + (1 − β1)Hθ, θ ← θ − η P⁻¹m (Adam with P frozen)."""
    theta, m = np.ones(len(H)), np.zeros(len(H))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            m = beta1 * m + (1 - beta1) * (H @ theta)
            theta = theta - eta * m / p_diag
    return np.linalg.norm(theta)


def test_adam_max_stable_eta_separates_converging_from_diverging_runs():
    ns, cases = master("11-modern-practice")
    for (H, v_hat), kw in calls(cases, "adam_max_stable_eta"):
        beta1, eps = kw.get("beta1", 0.9), kw.get("eps", 1e-8)
        eta = ns["adam_max_stable_eta"](H, v_hat, **kw)
        p_diag = np.sqrt(v_hat) + eps
        assert _frozen_adam_norm(H, p_diag, beta1, 0.97 * eta) < 1e-3
        assert not _frozen_adam_norm(H, p_diag, beta1, 1.03 * eta) < 1e3


def test_mup_lr_multipliers_equal_the_mup_package():
    mup = pytest.importorskip("mup")
    ns, cases = master("11-modern-practice")

    def build(widths):
        layers = []
        for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
            if i:
                layers.append(nn.ReLU())
            layers.append(mup.MuReadout(d_in, d_out) if i == len(widths) - 2 else nn.Linear(d_in, d_out))
        return nn.Sequential(*layers)

    for (sizes, base, optimizer), _ in calls(cases, "mup_lr_multipliers"):
        model = build(sizes)
        mup.set_base_shapes(model, build(base))
        opt = (mup.MuSGD if optimizer == "sgd" else mup.MuAdam)(model.parameters(), lr=1.0)
        lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
        theirs = [[lr_of[id(layer.weight)], lr_of[id(layer.bias)]] for layer in model if isinstance(layer, nn.Linear)]
        np.testing.assert_allclose(ns["mup_lr_multipliers"](sizes, base, optimizer), theirs, rtol=1e-12)


# --- 12: attention, the inverse square root, schedule-free ---------------------------------------

def test_attention_equals_torch_scaled_dot_product_attention():
    ns, cases = master("12-transformer")
    for (Q, K, V), kw in calls(cases, "attention"):
        theirs = torch.nn.functional.scaled_dot_product_attention(
            torch.tensor(Q), torch.tensor(K), torch.tensor(V), is_causal=kw.get("causal", True))
        np.testing.assert_allclose(ns["attention"](Q, K, V, **kw), theirs.numpy(), rtol=1e-9, atol=1e-12)
    for (n,), _ in calls(cases, "causal_mask"):
        assert np.array_equal(ns["causal_mask"](n), torch.tril(torch.ones(n, n, dtype=torch.bool)).numpy())


def test_inverse_sqrt_schedule_is_vaswanis_formula():
    """Vaswani et al.: lr(s) = d^-½ · min(s^-½, s·W^-1.5), s = t + 1, whose peak is d^-½·W^-½."""
    ns, cases = master("12-transformer")
    for (eta, steps, warmup), _ in calls(cases, "inverse_sqrt_schedule"):
        s = np.arange(1, steps + 1)
        d_model = 1.0 / (eta ** 2 * warmup)          # the d_model whose peak is η
        vaswani = d_model ** -0.5 * np.minimum(s ** -0.5, s * warmup ** -1.5)
        np.testing.assert_allclose(ns["inverse_sqrt_schedule"](eta, steps, warmup), vaswani, rtol=1e-12)


def test_schedule_free_average_is_the_weighted_running_mean():
    ns, cases = master("12-transformer")
    for (zs, *rest), _ in calls(cases, "schedule_free_average"):
        w = rest[0] if rest else np.ones(len(zs))
        shape = (-1,) + (1,) * (zs.ndim - 1)
        mean = np.cumsum(w.reshape(shape) * zs, axis=0) / np.cumsum(w).reshape(shape)
        np.testing.assert_allclose(ns["schedule_free_average"](zs, *rest), mean, rtol=1e-12)


def test_schedule_free_sgd_equals_the_schedulefree_package():
    schedulefree = pytest.importorskip("schedulefree")
    ns, cases = master("12-transformer")
    for (H, theta0, eta, beta, steps), _ in calls(cases, "schedule_free_sgd"):
        ours = ns["schedule_free_sgd"](H, theta0, eta, beta, steps)
        if not 0 < beta < 1:   # the package refuses β = 0 and 1: check those by the formula
            z, x, zs = np.array(theta0), np.array(theta0), []
            for _ in range(steps):
                z = z - eta * H @ ((1 - beta) * z + beta * x)
                zs.append(z)
                x = np.mean(zs, axis=0)
            np.testing.assert_allclose(ours, x, rtol=1e-9, atol=1e-12)
            continue
        p = nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
        opt = schedulefree.SGDScheduleFree([p], lr=eta, momentum=beta, warmup_steps=0)
        opt.train()
        for _ in range(steps):
            opt.zero_grad()
            (0.5 * p @ torch.tensor(H) @ p).backward()
            opt.step()
        opt.eval()
        np.testing.assert_allclose(ours, p.detach().numpy(), rtol=1e-9, atol=1e-12)
