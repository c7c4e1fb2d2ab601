"""lrcourse.optim's surface against torch.optim's: signatures, errors, and the update functions.

The `*_update` functions are checked against torch.optim fed the same stream of gradients;
the classes (which call them) are checked over whole training runs in test_optim.py.
"""

import inspect

import pytest
import torch

import lrcourse.optim as ours

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"]


def _params():
    return [torch.nn.Parameter(torch.zeros(3))]


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_torchs(name):
    """Names, order, kinds (positional / keyword-only) and defaults equal torch 2.13's."""
    def spec(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]
    assert spec(getattr(ours, name)) == spec(getattr(torch.optim, name))
    assert issubclass(getattr(ours, name), torch.optim.Optimizer)


BAD = [
    ("SGD", dict(lr=-1.0)), ("SGD", dict(momentum=-0.1)), ("SGD", dict(weight_decay=-1e-4)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True)),
    ("SGD", dict(lr=-1.0, nesterov=True)), ("SGD", dict(lr=torch.tensor([0.1, 0.2]))),
    ("Adagrad", dict(lr=-0.5)), ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(weight_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-0.1)),
    ("Adagrad", dict(eps=-1e-10)),
    ("RMSprop", dict(lr=-1e-3)), ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(momentum=-0.5)),
    ("RMSprop", dict(weight_decay=-0.1)), ("RMSprop", dict(alpha=-0.99)),
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(rho=-0.1)),
    ("Adadelta", dict(eps=-1e-6)), ("Adadelta", dict(weight_decay=-1.0)),
    ("Adam", dict(lr=-1e-3)), ("Adam", dict(eps=-1e-8)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, 1.0))), ("Adam", dict(betas=(-0.1, 0.999))),
    ("Adam", dict(weight_decay=-0.01)), ("Adam", dict(betas=(0, 0.999))),
    ("Adam", dict(betas=(0.9, torch.tensor(0.999)))),
    ("Adam", dict(betas=(torch.tensor([0.9, 0.8]), torch.tensor(0.999)))),
    ("AdamW", dict(lr=-1.0)), ("AdamW", dict(betas=(0.9, 1.5))), ("AdamW", dict(eps=-1.0)),
    ("AdamW", dict(weight_decay=-0.01)),
]


@pytest.mark.parametrize("name,kw", BAD, ids=[f"{n}-{sorted(k)}" for n, k in BAD])
def test_invalid_hyperparameters_raise_torchs_message(name, kw):
    """Same exception type and message (a ValueError, except torch's RuntimeError for a
    2-element betas tensor, which fails on its comparison before any check)."""
    def error(cls):
        try:
            cls(_params(), **kw)
        except Exception as e:  # noqa: BLE001 - the type is part of what is compared
            return type(e), str(e)
        return None

    theirs = error(getattr(torch.optim, name))
    assert theirs is not None and theirs[0] in (ValueError, RuntimeError)
    assert error(getattr(ours, name)) == theirs


@pytest.mark.parametrize("name", NAMES)
def test_empty_parameter_list_raises_like_torch(name):
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(ours, name)([])


SWITCHES = {  # torch's implementation switches that each class accepts only when falsy
    "SGD": ["foreach", "differentiable", "fused"],
    "Adagrad": ["foreach", "differentiable", "fused"],
    "RMSprop": ["capturable", "foreach", "differentiable"],
    "Adadelta": ["foreach", "capturable", "differentiable"],
    "Adam": ["foreach", "capturable", "differentiable", "fused"],
    "AdamW": ["foreach", "capturable", "differentiable", "fused"],
}


@pytest.mark.parametrize("name,switch", [(n, s) for n in NAMES for s in SWITCHES[n]])
def test_truthy_implementation_switch_is_refused(name, switch):
    cls = getattr(ours, name)
    assert switch in inspect.signature(cls).parameters
    with pytest.raises(ValueError, match=f"does not support {switch}=True"):
        cls(_params(), **{switch: True})
    falsy = None if inspect.signature(cls).parameters[switch].default is None else False
    opt = cls(_params(), **{switch: falsy})
    assert opt.param_groups[0][switch] is falsy


def test_maximize_is_keyword_only_except_in_rmsprop_as_in_torch():
    for name in NAMES:
        kind = inspect.signature(getattr(ours, name)).parameters["maximize"].kind
        expected = (inspect.Parameter.POSITIONAL_OR_KEYWORD if name == "RMSprop"
                    else inspect.Parameter.KEYWORD_ONLY)
        assert kind == expected, name


@pytest.mark.parametrize("name", NAMES)
def test_step_returns_the_closures_loss_and_runs_it_with_grad(name):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = getattr(ours, name)([p])
    seen = []

    def closure():
        seen.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert seen == [True] and loss.item() == 5.0
    assert not torch.equal(p.detach(), torch.tensor([1.0, -2.0]))


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_grad_are_left_alone(name):
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = getattr(ours, name)([a, b], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(2)) and not torch.equal(a.detach(), torch.ones(2))


@pytest.mark.parametrize("name", NAMES)
def test_complex_parameters_are_refused(name):
    z = torch.nn.Parameter(torch.zeros(2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="real parameters only"):
        getattr(ours, name)([z])
    opt = getattr(ours, name)(_params())
    with pytest.raises(ValueError, match="real parameters only"):
        opt.add_param_group({"params": [z]})
    assert len(opt.param_groups) == 1


def test_adagrad_fills_the_sum_from_each_groups_own_initial_value():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    opt = ours.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 0.5}],
                       initial_accumulator_value=0.1)
    assert torch.equal(opt.state[a]["sum"], torch.full((2,), 0.1))
    assert torch.equal(opt.state[b]["sum"], torch.full((2,), 0.5))
    c = torch.nn.Parameter(torch.zeros(2))
    opt.add_param_group({"params": [c], "initial_accumulator_value": 0.25})
    c.grad = torch.ones(2)
    opt.step()
    assert torch.allclose(opt.state[c]["sum"], torch.full((2,), 1.25))


def test_tensor_lr_gives_the_same_step_as_a_float_lr():
    results = []
    for lr in (0.1, torch.tensor(0.1)):
        p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        opt = ours.SGD([p], lr=lr, momentum=0.9)
        for _ in range(3):
            p.grad = 2 * p.detach().clone()
            opt.step()
        results.append(p.detach().clone())
    assert torch.equal(*results)


# ---------------------------------------------------------------- the update functions

T = 60


def _grad_stream(dtype, seed=0, shape=(4, 3)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=dtype) for _ in range(T)]


def _torch_run(name, kw, grads):
    p = torch.nn.Parameter(torch.linspace(-1, 1, grads[0].numel(), dtype=grads[0].dtype)
                           .reshape(grads[0].shape))
    opt = getattr(torch.optim, name)([p], **kw)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach()


def _start(grads):
    return torch.linspace(-1, 1, grads[0].numel(), dtype=grads[0].dtype).reshape(grads[0].shape)


SGD_KW = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.8, nesterov=True),
          dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.01, maximize=True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", SGD_KW, ids=str)
def test_sgd_update_matches_torch(kw, dtype):
    grads = _grad_stream(dtype)
    theta, buf = _start(grads), None
    for g in grads:
        buf = ours.sgd_update(theta, g, buf, **kw)
    assert torch.equal(theta, _torch_run("SGD", kw, grads))
    assert (buf is None) == (kw.get("momentum", 0) == 0)


ADAGRAD_KW = [dict(lr=0.1), dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, eps=1e-6,
                                 maximize=True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", ADAGRAD_KW, ids=str)
def test_adagrad_update_matches_torch(kw, dtype):
    grads = _grad_stream(dtype)
    theta, sum_sq = _start(grads), torch.zeros_like(grads[0])
    for t, g in enumerate(grads, start=1):
        ours.adagrad_update(theta, g, sum_sq, t, **kw)
    assert torch.equal(theta, _torch_run("Adagrad", kw, grads))


RMSPROP_KW = [dict(lr=0.01), dict(lr=0.01, centered=True),
              dict(lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.01, maximize=True),
              dict(lr=0.01, eps=1e-4, momentum=0.5, centered=True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", RMSPROP_KW, ids=str)
def test_rmsprop_update_matches_torch(kw, dtype):
    grads = _grad_stream(dtype)
    theta, zeros = _start(grads), torch.zeros_like(grads[0])
    square_avg = zeros.clone()
    buf = zeros.clone() if kw.get("momentum", 0) > 0 else None
    grad_avg = zeros.clone() if kw.get("centered") else None
    fn_kw = {k: v for k, v in kw.items() if k != "centered"}
    for g in grads:
        ours.rmsprop_update(theta, g, square_avg, buf=buf, grad_avg=grad_avg, **fn_kw)
    assert torch.equal(theta, _torch_run("RMSprop", kw, grads))


ADADELTA_KW = [dict(), dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.01, maximize=True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", ADADELTA_KW, ids=str)
def test_adadelta_update_matches_torch(kw, dtype):
    grads = _grad_stream(dtype)
    theta = _start(grads)
    square_avg, acc_delta = torch.zeros_like(theta), torch.zeros_like(theta)
    for g in grads:
        ours.adadelta_update(theta, g, square_avg, acc_delta, **kw)
    assert torch.equal(theta, _torch_run("Adadelta", kw, grads))


ADAM_KW = [("Adam", dict()), ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
           ("Adam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4, maximize=True)),
           ("AdamW", dict(lr=0.01)), ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True))]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,kw", ADAM_KW, ids=str)
def test_adam_update_matches_torch(name, kw, dtype):
    grads = _grad_stream(dtype)
    theta = _start(grads)
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    v_max = torch.zeros_like(theta) if kw.get("amsgrad") else None
    beta1, beta2 = kw.get("betas", (0.9, 0.999))
    fn_kw = {k: val for k, val in kw.items() if k not in ("amsgrad", "betas")}
    if name == "AdamW":
        fn_kw = {"weight_decay": 1e-2, **fn_kw, "decoupled_weight_decay": True}
    for t, g in enumerate(grads, start=1):
        ours.adam_update(theta, g, m, v, t, beta1=beta1, beta2=beta2, max_exp_avg_sq=v_max,
                         **fn_kw)
    assert torch.equal(theta, _torch_run(name, kw, grads))


def test_update_functions_work_on_leaves_under_no_grad():
    p = torch.nn.Parameter(torch.ones(3))
    with torch.no_grad():
        ours.sgd_update(p, torch.ones(3), None, lr=0.5)
    assert torch.equal(p.detach(), torch.full((3,), 0.5))
