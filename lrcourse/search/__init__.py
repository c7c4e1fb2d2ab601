"""Searching for η: tasks and grids (`objective`), Optuna studies, population-based training
(`pbt`) and scale-out on Ray Tune (`scale_out`)."""
