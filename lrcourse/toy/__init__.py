"""Toy surfaces and gradient descent on them: where the learning rate's effect can be seen
whole (part I of the book). Trajectories are plain numpy, fast enough for a live slider."""
