"""Shared pytest set-up: one thread for torch (small models are faster that way), fixed seeds."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

torch.set_num_threads(1)
