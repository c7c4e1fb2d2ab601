"""Training: the models, metrics and loop (`History`, `train`), one batched engine that trains
K models as stacked tensors (`engine`), and the sweeps built on it."""
