"""Heatmap overlays: the anomaly map coloured and blended over the image at the image's own size."""

from __future__ import annotations

import cv2
import numpy as np

from labeling.imageio import LoadedImage, to_display_rgb8

OVERLAY_ALPHA = 0.45


def heatmap_overlay(image: LoadedImage, normalized_map: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """Return an H x W x 3 uint8 RGB overlay; ``normalized_map`` is 0..1 with 0.5 at the threshold."""
    base = to_display_rgb8(image)
    levels = np.clip(normalized_map * 255.0, 0, 255).astype(np.uint8)
    colours = cv2.applyColorMap(levels, cv2.COLORMAP_JET)[:, :, ::-1]
    blended = cv2.addWeighted(base, 1.0 - alpha, colours, alpha, 0.0)
    contour_mask = (normalized_map >= 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(contour_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(blended, contours, -1, (255, 255, 255), 1)
    return blended
