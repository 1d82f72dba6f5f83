"""Per-type precision, recall and confusion matrix of defect-type predictions (numpy only, no torch).

``inspect eval`` and the GUI's Evaluate page show these; the module imports nothing
heavier than numpy so either can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UNKNOWN = "unknown"
NOT_TYPED = "none"


@dataclass(frozen=True)
class TypeScores:
    """Precision and recall of one defect type; None where the denominator is zero."""

    name: str
    support: int
    predicted: int
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class TypeMetrics:
    """Confusion matrix (rows: true types, columns: ``columns``) and per-type scores.

    ``columns`` are the true types, then any other predicted type names, then
    ``unknown`` (the classifier matched no type) and ``none`` (no type was given, for
    example because the image was judged OK).
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    matrix: np.ndarray
    per_type: tuple[TypeScores, ...]
    balanced_accuracy: float | None

    def to_dict(self) -> dict:
        """Return a JSON-ready form."""
        return {
            "rows": list(self.rows),
            "columns": list(self.columns),
            "confusion_matrix": self.matrix.tolist(),
            "per_type": [score.__dict__ for score in self.per_type],
            "balanced_accuracy": self.balanced_accuracy,
        }


def type_metrics(true_types: Sequence[str], predicted_types: Sequence[str | None]) -> TypeMetrics:
    """Compare true and predicted defect types of the same images; None counts as ``none``."""
    predicted = [NOT_TYPED if name is None else name for name in predicted_types]
    rows = tuple(dict.fromkeys(true_types))
    extra = [name for name in dict.fromkeys(predicted) if name not in rows and name not in (UNKNOWN, NOT_TYPED)]
    columns = (*rows, *extra, UNKNOWN, NOT_TYPED)
    matrix = np.zeros((len(rows), len(columns)), dtype=np.int64)
    for truth, guess in zip(true_types, predicted, strict=True):
        matrix[rows.index(truth), columns.index(guess)] += 1
    scores = []
    for index, name in enumerate(rows):
        support = int(matrix[index].sum())
        predicted_count = int(matrix[:, index].sum())
        correct = int(matrix[index, index])
        scores.append(
            TypeScores(
                name=name,
                support=support,
                predicted=predicted_count,
                precision=correct / predicted_count if predicted_count else None,
                recall=correct / support if support else None,
            )
        )
    recalls = [score.recall for score in scores if score.recall is not None]
    return TypeMetrics(rows, columns, matrix, tuple(scores), float(np.mean(recalls)) if recalls else None)

