"""Toy loss surfaces L(θ): value, gradient ∇L, Hessian ∇²L, minima and a plotting window.

Every surface works on numpy arrays whose last axis is θ's dimension, so one call evaluates
many points at once (a batch of trajectories, or a contour grid). All are closed form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def _last_axis(theta) -> np.ndarray:
    return np.asarray(theta, dtype=float)


@dataclass(frozen=True)
class Surface:
    """Base class: subclasses define ``value``, ``grad`` and (where closed form) ``hessian``.

    ``minima`` lists the global minimisers, ``window`` is ((x0, x1), (y0, y1)) for 2-D or
    (x0, x1) for 1-D surfaces, ``start`` a default initial θ₀ that makes a good picture.
    """

    name: str = field(init=False, default="surface")
    dim: int = field(init=False, default=2)

    def value(self, theta) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def grad(self, theta) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def hessian(self, theta) -> np.ndarray:
        raise NotImplementedError(f"{self.name}: no closed-form Hessian")

    @property
    def min_value(self) -> float:
        """L at the global minimum (for plotting L − L*)."""
        return float(self.value(np.asarray(self.minima[0])))

    def __call__(self, theta) -> np.ndarray:
        return self.value(theta)


@dataclass(frozen=True)
class Quadratic1D(Surface):
    """L(θ) = ½·λ·(θ − θ*)², ∇L = λ(θ − θ*), ∇²L = λ. Gradient descent is stable iff η < 2/λ."""

    curvature: float = 1.0
    center: float = 0.0
    name: str = field(init=False, default="1-D quadratic")
    dim: int = field(init=False, default=1)

    def __post_init__(self):
        if not (math.isfinite(self.curvature) and self.curvature > 0):
            raise ValueError(f"Invalid curvature: {self.curvature} (must be a positive number)")

    def value(self, theta):
        t = _last_axis(theta)[..., 0]
        return 0.5 * self.curvature * (t - self.center) ** 2

    def grad(self, theta):
        return self.curvature * (_last_axis(theta) - self.center)

    def hessian(self, theta):
        t = _last_axis(theta)
        return np.full(t.shape[:-1] + (1, 1), self.curvature)

    @property
    def minima(self):
        return [np.array([self.center])]

    @property
    def window(self):
        return (self.center - 3.0, self.center + 3.0)

    @property
    def start(self):
        return np.array([self.center + 2.5])

    @property
    def eigenvalues(self) -> np.ndarray:
        return np.array([self.curvature])


@dataclass(frozen=True)
class Quadratic2D(Surface):
    """L(θ) = ½·θᵀAθ with A = R(φ)·diag(λ_min, λ_max)·R(φ)ᵀ (an ill-conditioned bowl).

    ∇L = Aθ, ∇²L = A. Gradient descent converges iff 0 < η < 2/λ_max; the fixed step that
    minimises the worst contraction factor max|1 − ηλ| is η* = 2/(λ_min + λ_max), giving the
    rate (κ − 1)/(κ + 1) per step with κ = λ_max/λ_min.
    """

    lam_min: float = 1.0
    lam_max: float = 10.0
    angle: float = math.pi / 6
    name: str = field(init=False, default="ill-conditioned quadratic")

    def __post_init__(self):
        if not (0 < self.lam_min <= self.lam_max and math.isfinite(self.lam_max)):
            raise ValueError(
                f"Invalid eigenvalues: lam_min={self.lam_min}, lam_max={self.lam_max} "
                "(need 0 < lam_min <= lam_max < inf)"
            )

    @property
    def A(self) -> np.ndarray:
        c, s = math.cos(self.angle), math.sin(self.angle)
        R = np.array([[c, -s], [s, c]])
        return R @ np.diag([self.lam_min, self.lam_max]) @ R.T

    @property
    def eigenvalues(self) -> np.ndarray:
        return np.array([self.lam_min, self.lam_max])

    def value(self, theta):
        t = _last_axis(theta)
        return 0.5 * np.einsum("...i,ij,...j->...", t, self.A, t)

    def grad(self, theta):
        return _last_axis(theta) @ self.A.T

    def hessian(self, theta):
        t = _last_axis(theta)
        return np.broadcast_to(self.A, t.shape[:-1] + (2, 2)).copy()

    @property
    def minima(self):
        return [np.zeros(2)]

    @property
    def window(self):
        return ((-3.0, 3.0), (-3.0, 3.0))

    @property
    def start(self):
        return np.array([-2.5, 1.5])


@dataclass(frozen=True)
class Rosenbrock(Surface):
    """L(x, y) = (a − x)² + b·(y − x²)²: a curved, narrow valley with its minimum at (a, a²)."""

    a: float = 1.0
    b: float = 100.0
    name: str = field(init=False, default="Rosenbrock")

    def value(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def grad(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        r = y - x**2
        return np.stack([-2 * (self.a - x) - 4 * self.b * x * r, 2 * self.b * r], axis=-1)

    def hessian(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        hxx = 2 - 4 * self.b * (y - x**2) + 8 * self.b * x**2
        hxy = -4 * self.b * x
        hyy = np.full_like(x, 2 * self.b)
        return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)

    @property
    def minima(self):
        return [np.array([self.a, self.a**2])]

    @property
    def window(self):
        return ((-2.0, 2.0), (-1.0, 3.0))

    @property
    def start(self):
        return np.array([-1.5, 2.0])


@dataclass(frozen=True)
class Himmelblau(Surface):
    """L(x, y) = (x² + y − 11)² + (x + y² − 7)²: four global minima, all with L = 0."""

    name: str = field(init=False, default="Himmelblau")

    def value(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def grad(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        u, v = x**2 + y - 11, x + y**2 - 7
        return np.stack([4 * x * u + 2 * v, 2 * u + 4 * y * v], axis=-1)

    def hessian(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        hxx = 12 * x**2 + 4 * y - 42
        hxy = 4 * (x + y)
        hyy = 12 * y**2 + 4 * x - 26
        return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)

    @property
    def minima(self):
        return [
            np.array([3.0, 2.0]),
            np.array([-2.805118, 3.131312]),
            np.array([-3.779310, -3.283186]),
            np.array([3.584428, -1.848126]),
        ]

    @property
    def min_value(self) -> float:
        return 0.0

    @property
    def window(self):
        return ((-5.0, 5.0), (-5.0, 5.0))

    @property
    def start(self):
        return np.array([-0.5, -0.5])


@dataclass(frozen=True)
class Beale(Surface):
    """L(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²; minimum at (3, 0.5)."""

    name: str = field(init=False, default="Beale")

    _C = (1.5, 2.25, 2.625)

    def value(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        return sum((c - x + x * y ** (i + 1)) ** 2 for i, c in enumerate(self._C))

    def grad(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        gx = np.zeros_like(x)
        gy = np.zeros_like(x)
        for i, c in enumerate(self._C):
            k = i + 1
            r = c - x + x * y**k
            gx = gx + 2 * r * (y**k - 1)
            gy = gy + 2 * r * (k * x * y ** (k - 1))
        return np.stack([gx, gy], axis=-1)

    def hessian(self, theta):
        t = _last_axis(theta)
        x, y = t[..., 0], t[..., 1]
        hxx = np.zeros_like(x)
        hxy = np.zeros_like(x)
        hyy = np.zeros_like(x)
        for i, c in enumerate(self._C):
            k = i + 1
            r = c - x + x * y**k
            rx, ry = y**k - 1, k * x * y ** (k - 1)
            ryy = k * (k - 1) * x * y ** (k - 2) if k >= 2 else np.zeros_like(x)
            rxy = k * y ** (k - 1)
            hxx = hxx + 2 * rx * rx
            hxy = hxy + 2 * (rx * ry + r * rxy)
            hyy = hyy + 2 * (ry * ry + r * ryy)
        return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)

    @property
    def minima(self):
        return [np.array([3.0, 0.5])]

    @property
    def window(self):
        return ((-4.5, 4.5), (-4.5, 4.5))

    @property
    def start(self):
        return np.array([1.0, 1.5])


@dataclass(frozen=True)
class Saddle(Surface):
    """L(x, y) = ½(a·x² − b·y²): a saddle at the origin (Hessian eigenvalues a and −b).

    It has no minimum: L is unbounded below along y, so gradient descent escapes along y
    at rate (1 + ηb) per step. ``minima`` lists the saddle point (the stationary point).
    """

    a: float = 1.0
    b: float = 1.0
    name: str = field(init=False, default="saddle")

    def value(self, theta):
        t = _last_axis(theta)
        return 0.5 * (self.a * t[..., 0] ** 2 - self.b * t[..., 1] ** 2)

    def grad(self, theta):
        t = _last_axis(theta)
        return np.stack([self.a * t[..., 0], -self.b * t[..., 1]], axis=-1)

    def hessian(self, theta):
        t = _last_axis(theta)
        return np.broadcast_to(np.diag([self.a, -self.b]), t.shape[:-1] + (2, 2)).copy()

    @property
    def minima(self):
        return [np.zeros(2)]

    @property
    def window(self):
        return ((-2.0, 2.0), (-2.0, 2.0))

    @property
    def start(self):
        return np.array([-1.8, 0.05])


@dataclass(frozen=True)
class Rastrigin(Surface):
    """L(θ) = A·d + Σᵢ (θᵢ² − A·cos(2πθᵢ)): many local minima, the global one at 0."""

    A: float = 10.0
    name: str = field(init=False, default="Rastrigin")

    def value(self, theta):
        t = _last_axis(theta)
        return self.A * t.shape[-1] + np.sum(t**2 - self.A * np.cos(2 * np.pi * t), axis=-1)

    def grad(self, theta):
        t = _last_axis(theta)
        return 2 * t + 2 * np.pi * self.A * np.sin(2 * np.pi * t)

    def hessian(self, theta):
        t = _last_axis(theta)
        d = 2 + 4 * np.pi**2 * self.A * np.cos(2 * np.pi * t)
        return d[..., :, None] * np.eye(t.shape[-1])

    @property
    def minima(self):
        return [np.zeros(2)]

    @property
    def window(self):
        return ((-5.12, 5.12), (-5.12, 5.12))

    @property
    def start(self):
        return np.array([-2.3, 3.2])


SURFACES = {
    "quadratic1d": Quadratic1D,
    "quadratic2d": Quadratic2D,
    "rosenbrock": Rosenbrock,
    "himmelblau": Himmelblau,
    "beale": Beale,
    "saddle": Saddle,
    "rastrigin": Rastrigin,
}


def surface(name: str, **kwargs) -> Surface:
    """Look a surface up by name: ``surface("rosenbrock")``."""
    try:
        return SURFACES[name.lower()](**kwargs)
    except KeyError:
        raise ValueError(f"Unknown surface {name!r}; choose one of {sorted(SURFACES)}") from None
