"""Model-assisted labeling without Qt: turn an anomaly map into proposed regions that the user accepts or ignores.

Proposals are plain records. Nothing is written into a label until :func:`accept_proposals`
is called with the proposals the user chose, and the caller still saves the label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from labeling.model import ImageLabel, PixelMask, Region, Verdict

CONNECTIVITY = 8


@dataclass(frozen=True)
class RegionProposal:
    """A candidate defect region found in an anomaly map.

    Attributes:
        mask: the region's pixels, in image coordinates.
        max_score: highest anomaly value inside the region.
        mean_score: mean anomaly value inside the region.
        area_px: number of pixels.
    """

    mask: PixelMask
    max_score: float
    mean_score: float
    area_px: int


def propose_regions(
    anomaly_map: np.ndarray,
    threshold: float,
    *,
    min_area_px: int = 1,
    image_size: tuple[int, int] | None = None,
) -> tuple[RegionProposal, ...]:
    """Find connected regions where the anomaly map is at or above ``threshold``.

    Args:
        anomaly_map: float H x W map of anomaly scores; NaN counts as below the threshold.
        threshold: score at or above which a pixel is anomalous.
        min_area_px: components with fewer pixels are dropped.
        image_size: (width, height) of the image; when it differs from the map's size, the
            map is resized to it with bilinear interpolation before thresholding.

    Returns:
        Proposals sorted by ``max_score``, highest first.

    Raises:
        ValueError: the map is not two-dimensional or ``image_size`` is not positive.
    """
    scores = np.asarray(anomaly_map, dtype=np.float32)
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"anomaly map must be a non-empty H x W array, got shape {scores.shape}")
    if image_size is not None:
        width, height = (int(value) for value in image_size)
        if width <= 0 or height <= 0:
            raise ValueError(f"image_size must be positive (width, height), got {image_size}")
        if (width, height) != (scores.shape[1], scores.shape[0]):
            scores = cv2.resize(scores, (width, height), interpolation=cv2.INTER_LINEAR)
    binary = np.nan_to_num(scores, nan=-np.inf) >= threshold
    count, components, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=CONNECTIVITY)
    proposals: list[RegionProposal] = []
    for component in range(1, count):
        area = int(stats[component, cv2.CC_STAT_AREA])
        if area < min_area_px:
            continue
        pixels = components == component
        values = scores[pixels]
        proposals.append(
            RegionProposal(
                mask=PixelMask.from_array(pixels),
                max_score=float(values.max()),
                mean_score=float(values.mean()),
                area_px=area,
            )
        )
    proposals.sort(key=lambda proposal: proposal.max_score, reverse=True)
    return tuple(proposals)


def accept_proposals(
    label: ImageLabel, proposals: Iterable[RegionProposal], *, defect_type: str | None = None
) -> ImageLabel:
    """Return ``label`` with the chosen proposals added as regions of origin ``assist``.

    Accepting at least one proposal marks the image NG, and its image-level type is set
    to ``defect_type`` when it had none.

    Raises:
        ValueError: a proposal reaches outside the label's image size.
    """
    regions = list(label.regions)
    for proposal in proposals:
        mask = proposal.mask
        if mask.left + mask.width > label.image_width or mask.top + mask.height > label.image_height:
            raise ValueError(
                f"proposal box ({mask.left}, {mask.top}, {mask.width}x{mask.height}) reaches outside the "
                f"{label.image_width}x{label.image_height} image; propose with image_size=(width, height)"
            )
        regions.append(Region(shape=mask, defect_type=defect_type, origin="assist"))
    if len(regions) == len(label.regions):
        return label
    return replace(
        label,
        regions=tuple(regions),
        verdict=Verdict.NG,
        defect_type=label.defect_type or defect_type,
    )
