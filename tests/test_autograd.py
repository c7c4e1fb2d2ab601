"""lrcourse.scratch.autograd.Value against torch.autograd (float64) on random inputs."""
import doctest
import math
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lrcourse.scratch.autograd
from lrcourse.scratch.autograd import Value

# Each expression is written once and evaluated on Values and on float64 tensors: both
# have + − × / ** and the methods exp, log, tanh, relu.


def affine_tanh(a, b, c):
    return (a * b + c).tanh()


def shared_subexpressions(a, b, c):
    ab = a * b                      # used three times: its gradient must add up
    return ab * ab - b / (c ** 2 + 0.5) + ab + 3


def reuse_everywhere(a, b, c):
    """a is an operand of every operation more than once, so each local rule must add to
    a.grad (+=), whichever order the contributions arrive in."""
    u = a ** 2 + 1
    return ((b + a) * a + (c * a) * a + (b - a) / u + (a.exp() + a) * a.tanh()
            + (u.log() + a) * (a.relu() + u))


def log_exp_pow(a, b, c):
    return ((a ** 2 + 1).log() * b.exp()) / (c ** 2 + 0.5) ** 1.5


def reflected_ops(a, b, c):         # number ∘ Value: radd, rsub, rmul, rtruediv, neg
    return 2 / (1 + b ** 2) - (a - b).relu() * c + (-a) + 0.5 * (3 - c) + (1 - a.tanh())


def softmax_cross_entropy(a, b, c):
    """−log softmax([a, b, c])[1], the loss of the book's classifier, on three logits."""
    total = a.exp() + b.exp() + c.exp()
    return -(b.exp() / total).log()


def tiny_mlp(a, b, c):
    """Two inputs → two tanh neurons → one relu neuron → squared error to a target."""
    x1, x2 = a, b
    w = [0.5 * c, -1.3, 0.7, c - 0.2, 0.9, -0.4]
    h1 = (w[0] * x1 + w[1] * x2 + 0.1).tanh()
    h2 = (w[2] * x1 + w[3] * x2 - 0.3).tanh()
    out = (w[4] * h1 + w[5] * h2 + c).relu()
    return (out - 0.25) ** 2


EXPRESSIONS = [affine_tanh, shared_subexpressions, reuse_everywhere, log_exp_pow, reflected_ops,
               softmax_cross_entropy, tiny_mlp]


def grads_by_value(f, xs):
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return out.data, [v.grad for v in leaves]


def grads_by_torch(f, xs):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = f(*leaves)
    out.backward()
    return out.item(), [t.grad.item() if t.grad is not None else 0.0 for t in leaves]


def assert_close(ours, theirs):
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


finite = st.floats(min_value=-3, max_value=3, allow_nan=False)


@pytest.mark.parametrize("f", EXPRESSIONS, ids=lambda f: f.__name__)
@settings(max_examples=60, deadline=None)
@given(xs=st.tuples(finite, finite, finite))
def test_value_gradients_equal_torch_autograd(f, xs):
    value, grads = grads_by_value(f, xs)
    t_value, t_grads = grads_by_torch(f, xs)
    assert_close(value, t_value)
    assert_close(grads, t_grads)


def test_a_neuron_with_many_inputs_equals_torch():
    """tanh(Σ w_i x_i + b) with 20 inputs, then a loss: the gradient of every w_i and x_i."""
    rng = random.Random(0)
    nums = [rng.uniform(-1, 1) for _ in range(41)]

    def neuron(*v):
        xs, ws, b = v[:20], v[20:40], v[40]
        return (sum((w * x for w, x in zip(ws, xs)), b).tanh() - 0.5) ** 2

    value, grads = grads_by_value(neuron, nums)
    t_value, t_grads = grads_by_torch(neuron, nums)
    assert_close(value, t_value)
    assert_close(grads, t_grads)


def test_a_long_chain_needs_no_recursion_and_equals_torch():
    def chain(x):
        for _ in range(3000):       # deeper than Python's default recursion limit
            x = (x * 0.9 + 0.1).tanh()
        return x

    value, grads = grads_by_value(chain, [0.3])
    t_value, t_grads = grads_by_torch(chain, [0.3])
    assert_close(value, t_value)
    assert_close(grads, t_grads)


def test_relu_at_zero_has_torchs_gradient():
    assert grads_by_value(lambda a: a.relu(), [0.0])[1] == grads_by_torch(lambda a: a.relu(), [0.0])[1]


def test_backward_twice_gives_the_same_gradients_not_their_sum():
    a, b = Value(1.5), Value(-0.5)
    L = a * b + a.exp()
    L.backward()
    first = (a.grad, b.grad)
    L.backward()
    assert (a.grad, b.grad) == first
    assert first == (b.data + math.exp(a.data), a.data)


def test_graph_is_in_topological_order():
    a, b = Value(2.0, label="a"), Value(-1.0, label="b")
    ab = a * b
    L = (ab + ab.tanh()) * a
    nodes, edges = L.graph()
    assert nodes[-1] is L
    assert len({id(v) for v in nodes}) == len(nodes)
    position = {id(v): i for i, v in enumerate(nodes)}
    assert {id(a), id(b), id(ab)} <= set(position)
    for parent, child in edges:
        assert position[id(parent)] < position[id(child)]
    assert len(edges) == sum(len(v.parents) for v in nodes)
    assert sorted(v.op for v in nodes) == sorted(["", "", "×", "tanh", "+", "×"])


def test_exponent_must_be_a_number():
    with pytest.raises(TypeError, match="number exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError):
        Value(2.0) + "1"


def test_log_outside_its_domain_raises():
    with pytest.raises(ValueError, match="math domain error"):
        Value(-1.0).log()


def test_the_module_docstring_example_runs():
    result = doctest.testmod(lrcourse.scratch.autograd)
    assert result.attempted > 0 and result.failed == 0
