"""Optimizers written as the textbook formula, equal to torch.optim step for step.

Each class is a `torch.optim.Optimizer` subclass with torch 2.13's signature; each
`*_update` function is the one-parameter update it applies, usable on plain tensors.
"""

from lrcourse.optim.adadelta import Adadelta, adadelta_update
from lrcourse.optim.adagrad import Adagrad, adagrad_update
from lrcourse.optim.adam import Adam, AdamW, adam_update
from lrcourse.optim.base import PlainOptimizer
from lrcourse.optim.rmsprop import RMSprop, rmsprop_update
from lrcourse.optim.sgd import SGD, sgd_update

__all__ = [
    "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "PlainOptimizer",
    "sgd_update", "adagrad_update", "rmsprop_update", "adadelta_update", "adam_update",
]
