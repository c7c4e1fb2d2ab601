"""Learning-rate schedules: torch-equal `LRScheduler` classes (`lr_scheduler`), the pure
η(t) functions they drive (`functions`), reduce-on-plateau (`plateau`) and param-group helpers."""
