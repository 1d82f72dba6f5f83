"""The defect region of an example without a mask: the connected region around the anomaly map's peak."""

from __future__ import annotations

import cv2
import numpy as np

MAP_REGION_FRACTION = 0.5


def region_from_map(
    anomaly_map: np.ndarray, threshold: float, normal_level: float, focus: np.ndarray | None = None
) -> np.ndarray:
    """Return the connected region around the anomaly map's peak as a 0/1 float32 mask.

    The region contains the pixels above the higher of ``threshold`` and the level
    halfway between ``normal_level`` and the peak. Halfway keeps the region around the
    defect when the whole map lies above the threshold. When the peak is below the
    threshold (an example the anomaly model judges OK), the halfway level alone is used.
    With ``focus`` (a labelled mask), the peak is searched inside it, so the region is
    the anomaly map's view of that labelled defect.
    """
    values = np.asarray(anomaly_map, dtype=np.float32)
    searched = values if focus is None or not np.any(focus) else np.where(np.asarray(focus) > 0, values, -np.inf)
    row, col = np.unravel_index(int(np.argmax(searched)), values.shape)
    peak = float(values[row, col])
    halfway = normal_level + MAP_REGION_FRACTION * (peak - normal_level)
    level = max(threshold, halfway) if peak > threshold else halfway
    binary = (values >= level).astype(np.uint8)
    _, labels = cv2.connectedComponents(binary, connectivity=8)
    return (labels == labels[row, col]).astype(np.float32)
