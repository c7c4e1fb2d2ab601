"""lrcourse: the package behind the learning-rate book.

Public names are re-exported here and imported lazily on first use, so that
``import lrcourse`` (or a light submodule such as ``lrcourse.grading``) does not pay for torch,
matplotlib and sklearn until they are needed.
"""
from importlib import import_module

_EXPORTS = {
    # toy surfaces and gradient descent on them
    "surfaces": ["Surface", "Quadratic1D", "Quadratic2D", "Rosenbrock", "Himmelblau", "Beale",
                 "Saddle", "Rastrigin", "surface"],
    "gd": ["Trajectory", "run", "run_many", "divergence_threshold", "check_lr"],
    # plotting and sliders
    "plots": ["set_style", "lr_axis", "SliderFrame", "trajectory_frame", "curves_frame"],
    "widgets": ["lr_slider", "live_slider", "static_slider", "lr_grid"],
    # backprop from scratch
    "autograd": ["Value"],
    "nn": ["MLP", "SoftmaxCrossEntropy", "sgd_step"],
    "weights": ["WeightTrace", "dead_relu_fraction", "trace_gd"],
    "early_stopping": ["SplitCurves", "sweep_splits", "best_epoch", "at_epoch", "epoch_at_progress"],
    "noise": ["GradientNoise", "flat_grad", "per_example_grads", "gradient_noise", "noise_scale"],
    "hessian": ["hvp", "top_eigenvalue", "TopEigen", "track_sharpness", "SharpnessRun"],
    # optimizers
    "optim": ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "sgd_update",
              "adagrad_update", "rmsprop_update", "adadelta_update", "adam_update"],
    # data, training, batched sweeps
    "data": ["Dataset", "blobs", "digits", "mnist1d"],
    "train": ["History", "mlp", "macro_auc", "accuracy"],
    "sweep": ["SweepResult", "sweep_lr"],
    # optimizers on toy surfaces and real tasks
    "unit_step": ["UnitStep"],
    "race": ["race", "trajectories", "best_eta"],
    "race_plots": ["race_frame"],
    "optim_sweep": ["sweep_optimizer", "OptimizerSweep"],
    "step_sizes": ["effective_steps", "StepSizes"],
    # choosing η
    "finder": ["lr_range_test", "RangeTestResult", "suggest_lrs"],
    "doctor": ["diagnose", "Diagnosis"],
    "fastest": ["fastest_lr", "FastestLR", "one_epoch_sse", "summed_squared_error", "early_stop"],
    "ceiling": ["raw_blobs", "bayes_ceiling", "Ceiling"],
    # searching for η
    "search": ["Task", "Run", "run_study", "study_frame", "random_etas", "grid_etas"],
    "pbt": ["PBTResult", "exploit", "explore", "lineage"],
    # schedules
    "schedules": ["StepLR", "MultiStepLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
                  "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "LinearLR",
                  "SequentialLR"],
    "schedule_plots": ["schedule_grid_frame"],
    "lr_functions": ["lr_schedule", "step_decay", "exponential_decay", "piecewise_constant"],
    "plateau": ["ReduceLROnPlateau", "reduce_lr_on_plateau", "keras_reduce_lr_on_plateau"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrcourse' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
