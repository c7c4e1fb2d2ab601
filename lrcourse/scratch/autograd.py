"""Reverse-mode automatic differentiation on scalars, small enough to read in one sitting.

Every :class:`Value` remembers the values it was computed from (its *parents*) and a local
backward rule. Calling ``L.backward()`` visits the graph from L back to the leaves in reverse
topological order and applies the chain rule at each node y:

    ∂L/∂x = Σ_y ∂L/∂y · ∂y/∂x      (sum over every y that uses x)

so each node passes ``grad(y) · ∂y/∂x`` to each parent x, and a parent used twice receives
two contributions that add up. Gradients are exact up to floating-point rounding; the
tests check them against ``torch.autograd``.

>>> x, w, b = Value(2.0), Value(-3.0), Value(1.0)
>>> L = (x * w + b).tanh()
>>> L.backward()
>>> round(w.grad, 6)    # ∂L/∂w = (1 − tanh²(xw + b)) · x
0.000363
"""
from __future__ import annotations

import math
import numbers

__all__ = ["Value"]


class Value:
    """A scalar in a computation graph: ``data`` (the number), ``grad`` (∂L/∂self after
    ``L.backward()``), the parents it was made from and the operation ``op`` that made it."""

    def __init__(self, data, parents=(), op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.op = op
        self.label = label
        self._backward = lambda: None  # adds self.grad · ∂self/∂parent to each parent's grad

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    # -- the operations: each sets the local rule ∂out/∂parent ------------------------------

    def __add__(self, other):
        other = _as_value(other)
        if other is NotImplemented:
            return other
        out = Value(self.data + other.data, (self, other), "+")

        def backward():  # ∂(a + b)/∂a = ∂(a + b)/∂b = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other):
        other = _as_value(other)
        if other is NotImplemented:
            return other
        out = Value(self.data * other.data, (self, other), "×")

        def backward():  # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, n):
        """aⁿ for a number n (math.pow: ValueError where aⁿ is not a real number)."""
        if not _is_number(n):
            raise TypeError(f"Value ** n needs a number exponent n, got {type(n).__name__}")
        out = Value(math.pow(self.data, n), (self,), f"**{n:g}")

        def backward():  # ∂(aⁿ)/∂a = n·aⁿ⁻¹
            self.grad += n * math.pow(self.data, n - 1) * out.grad
        out._backward = backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def backward():  # ∂eᵃ/∂a = eᵃ
            self.grad += out.data * out.grad
        out._backward = backward
        return out

    def log(self):
        """Natural logarithm; raises ValueError (math domain error) for data ≤ 0."""
        out = Value(math.log(self.data), (self,), "log")

        def backward():  # ∂ln a/∂a = 1/a
            self.grad += out.grad / self.data
        out._backward = backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def backward():  # ∂tanh a/∂a = 1 − tanh²a
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def backward():  # ∂max(a, 0)/∂a = 1 if a > 0 else 0 (torch's choice at a = 0)
            self.grad += (self.data > 0) * out.grad
        out._backward = backward
        return out

    # -- the rest are built from the operations above ---------------------------------------

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        other = _as_value(other)
        return NotImplemented if other is NotImplemented else self + (-other)

    def __truediv__(self, other):
        other = _as_value(other)
        return NotImplemented if other is NotImplemented else self * other ** -1

    def __radd__(self, other):   # number + Value
        return self + other

    def __rmul__(self, other):   # number · Value
        return self * other

    def __rsub__(self, other):   # number − Value
        return (-self) + other

    def __rtruediv__(self, other):  # number / Value
        return self ** -1 * other

    # -- the graph and the backward pass ----------------------------------------------------

    def graph(self):
        """The graph that computed self: ``(nodes, edges)`` with nodes in topological order
        (every parent before the values made from it; self last) and edges as
        ``(parent, child)`` pairs, one per use (``a * a`` has two edges from a)."""
        nodes = _topological_order(self)
        edges = [(p, v) for v in nodes for p in v.parents]
        return nodes, edges

    def backward(self):
        """Set ``v.grad = ∂self/∂v`` for every v in the graph of self.

        Grads are first reset to 0 (a second ``backward`` gives the same answer, not the
        sum), then ∂self/∂self = 1 and each node, children before parents, applies its
        local rule: ∂self/∂x += ∂self/∂y · ∂y/∂x.
        """
        nodes = _topological_order(self)
        for v in nodes:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(nodes):
            v._backward()


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _as_value(x):
    """A Value as is, a number wrapped as a constant leaf, anything else NotImplemented."""
    if isinstance(x, Value):
        return x
    return Value(x) if _is_number(x) else NotImplemented


def _topological_order(root: Value) -> list[Value]:
    """Depth-first post-order from root: each node after all of its parents.

    Iterative rather than recursive, so long chains do not hit Python's recursion limit.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order
