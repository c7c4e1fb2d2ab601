"""Optimizers written as the textbook formula, equal to torch.optim step for step.

Each class is a `torch.optim.Optimizer` subclass with torch 2.13's signature; each
`*_update` function is the one-parameter update it applies, usable on plain tensors.
The learning-rate-free optimizers (schedule_free, prodigy, dadapt) have the signatures of
their official packages instead, and equal them step for step.
"""

from lrcourse.optim.adadelta import Adadelta, adadelta_update
from lrcourse.optim.adagrad import Adagrad, adagrad_update
from lrcourse.optim.adam import Adam, AdamW, adam_update
from lrcourse.optim.base import PlainOptimizer
from lrcourse.optim.dadapt import DAdaptAdam, DAdaptSGD
from lrcourse.optim.prodigy import Prodigy
from lrcourse.optim.rmsprop import RMSprop, rmsprop_update
from lrcourse.optim.schedule_free import AdamWScheduleFree, SGDScheduleFree, schedule_free_update
from lrcourse.optim.sgd import SGD, sgd_update

__all__ = [
    "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "PlainOptimizer",
    "sgd_update", "adagrad_update", "rmsprop_update", "adadelta_update", "adam_update",
    # learning-rate-free: equal to schedulefree 1.4.1, prodigyopt 1.1.2, dadaptation 3.2
    "SGDScheduleFree", "AdamWScheduleFree", "schedule_free_update", "Prodigy", "DAdaptAdam",
    "DAdaptSGD",
]
