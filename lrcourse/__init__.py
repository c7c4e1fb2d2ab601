"""lrcourse: the package behind the learning-rate book.

Public names are re-exported here and imported lazily on first use, so that
``import lrcourse`` (or a light submodule such as ``lrcourse.grading``) does not pay for torch,
matplotlib and sklearn until they are needed.
"""
from importlib import import_module

_EXPORTS = {
    # toy surfaces and gradient descent on them
    "toy.surfaces": ["Surface", "Quadratic1D", "Quadratic2D", "Rosenbrock", "Himmelblau", "Beale",
                 "Saddle", "Rastrigin", "surface"],
    "toy.gd": ["Trajectory", "run", "run_many", "divergence_threshold", "check_lr"],
    # plotting and sliders
    "viz.style": ["set_style", "lr_axis"],
    "viz.frames": ["SliderFrame", "trajectory_frame", "curves_frame"],
    "viz.range_test": ["range_test_plot"],
    "viz.widgets": ["lr_slider", "live_slider", "static_slider", "lr_grid"],
    # backprop from scratch
    "scratch.autograd": ["Value"],
    "scratch.nn": ["MLP", "SoftmaxCrossEntropy", "sgd_step"],
    "scratch.weights": ["WeightTrace", "dead_relu_fraction", "trace_gd"],
    "choosing.early_stopping": ["best_epoch", "at_epoch", "epoch_at_progress"],
    "choosing.noise": ["GradientNoise", "flat_grad", "per_example_grads", "gradient_noise", "noise_scale"],
    "choosing.hessian": ["hvp", "top_eigenvalue", "TopEigen", "track_sharpness", "SharpnessRun"],
    # optimizers
    "optim": ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "sgd_update",
              "adagrad_update", "rmsprop_update", "adadelta_update", "adam_update"],
    "optim.schedule_free": ["SGDScheduleFree", "AdamWScheduleFree"],
    "optim.prodigy": ["Prodigy"],
    "optim.dadapt": ["DAdaptAdam", "DAdaptSGD"],
    # data, training, batched sweeps
    "data": ["Dataset", "blobs", "digits", "mnist1d"],
    "training.loop": ["History", "train", "epoch_orders"],
    "training.models": ["mlp"],
    "training.mup": ["mup_mlp", "mup_param_groups", "lr_multipliers", "MuReadout"],
    "training.metrics": ["macro_auc", "accuracy"],
    "training.sweep": ["SweepResult", "sweep_lr", "SplitCurves", "sweep_splits"],
    # optimizers on toy surfaces and real tasks
    "optim.unit_step": ["UnitStep"],
    "toy.race": ["race", "trajectories", "best_eta"],
    "viz.optimizer_comparison": ["race_frame"],
    "training.optim_sweep": ["sweep_optimizer", "OptimizerSweep"],
    "training.step_sizes": ["effective_steps", "StepSizes"],
    # choosing η
    "choosing.finder": ["lr_range_test", "RangeTestResult", "suggest_lrs"],
    "choosing.doctor": ["diagnose", "Diagnosis"],
    "choosing.fastest": ["fastest_lr", "FastestLR", "one_epoch_sse", "summed_squared_error", "early_stop"],
    "choosing.ceiling": ["raw_blobs", "bayes_ceiling", "Ceiling"],
    # searching for η
    "search.objective": ["Task", "Run", "random_etas", "grid_etas"],
    "search.studies": ["run_study", "study_frame"],
    "search.pbt": ["PBTResult", "exploit", "explore", "lineage"],
    # schedules
    "schedules.lr_scheduler": ["StepLR", "MultiStepLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
                  "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "LinearLR",
                  "SequentialLR"],
    "viz.schedules": ["schedule_grid_frame"],
    "schedules.functions": ["lr_schedule", "step_decay", "exponential_decay", "piecewise_constant"],
    "schedules.plateau": ["ReduceLROnPlateau", "reduce_lr_on_plateau", "keras_reduce_lr_on_plateau"],
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
