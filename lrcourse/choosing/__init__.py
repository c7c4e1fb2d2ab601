"""Choosing η: the range test (`finder`), the learning-rate doctor, early stopping, the
fastest-η procedure, the Bayes ceiling, sharpness (Hessian) and gradient-noise measurements."""
