"""PatchCore-class anomaly detection trained from good images (torch; training side only)."""

from anomaly.coreset import TrainingCancelled
from anomaly.threshold import Threshold, threshold_for_false_rejects, threshold_from_good, threshold_with_defects
from anomaly.trainer import TrainConfig, TrainedModel, TrainingError, load_training_images, train_patchcore

__all__ = [
    "Threshold",
    "TrainConfig",
    "TrainedModel",
    "TrainingCancelled",
    "TrainingError",
    "load_training_images",
    "threshold_for_false_rejects",
    "threshold_from_good",
    "threshold_with_defects",
    "train_patchcore",
]
