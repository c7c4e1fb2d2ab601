"""Backpropagation from scratch: a micrograd-sized scalar autodiff (`autograd`), an MLP with a
hand-written backward pass (`nn`), and what gradient descent does to its weights (`weights`)."""
