"""Export a trained PatchCore model to ONNX and write it as an fp32 bundle.

The directory ``inspect train --out`` writes is itself a valid fp32 CPU bundle, plus
``training/state.npz`` (memory bank and its owners) and ``training/config.json`` so
that ``inspect compile`` can build other targets and precisions from it later.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from anomaly import Threshold, TrainConfig, TrainedModel
from anomaly.backbone import INTENSITY_PER_IMAGE
from anomaly.trainer import LEGACY_INTENSITY
from engine.bundle import (
    BundleError,
    Manifest,
    Postprocessing,
    Preprocessing,
    load_manifest,
    new_bundle_id,
    utc_now,
    write_manifest,
)
from labeling.fileio import atomic_write_json

logger = logging.getLogger(__name__)

ONNX_OPSET = 17
ONNX_NAME = "model.onnx"
STATE_NAME = "training/state.npz"
CONFIG_NAME = "training/config.json"
OUTPUT_NAMES = ("anomaly_map", "score", "features")


def export_onnx(trained: TrainedModel, path: str | os.PathLike[str]) -> Path:
    """Export the full graph (normalization, backbone, nearest-neighbour head, map post-processing).

    The input is N x 3 x H x W float32 RGB in 0..255 at the fixed model size; the
    batch dimension is dynamic. Outputs: ``anomaly_map`` N x 1 x H x W, ``score`` N
    and ``features`` N x C x H/8 x W/8 (patch embeddings for the defect-type classifier).
    """
    model = trained.torch_model()
    height, width = trained.input_size
    example = torch.zeros(1, 3, height, width)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(temporary),
            dynamo=False,
            input_names=["image"],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={name: {0: "batch"} for name in ("image", *OUTPUT_NAMES)},
            opset_version=ONNX_OPSET,
            do_constant_folding=True,
        )
    os.replace(temporary, target)
    return target


def write_model_bundle(trained: TrainedModel, directory: str | os.PathLike[str]) -> Manifest:
    """Write ``directory`` as an fp32 CPU bundle with the training state beside the graph.

    The directory is assembled under a temporary name and renamed at the end, so a
    failed run never leaves half a model; an existing model at that path is replaced.
    """
    target = Path(directory)
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        export_onnx(trained, staging / ONNX_NAME)
        _write_state(trained, staging)
        manifest = write_manifest(staging, build_manifest(trained))
        _replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("Wrote model bundle %s to %s", manifest.bundle_id, target)
    return manifest


def graph_normalization(intensity: str) -> str:
    """Describe, for the manifest, how the graph scales its 0..255 input under an intensity rule."""
    if intensity == INTENSITY_PER_IMAGE:
        return "per-image gray standardization (mean 127, spread 40, clipped to 0..255), then (x - 127) / 128, inside the graph"
    return "(x - 127) / 128 inside the graph"


def build_manifest(trained: TrainedModel, *, target: str = "cpu", precision: str = "fp32") -> Manifest:
    """Return the manifest (without file hashes) for a trained model."""
    threshold = trained.threshold
    return Manifest(
        bundle_id=new_bundle_id(),
        created=utc_now(),
        task={"type": "anomaly", "defect_types": []},
        preprocessing=Preprocessing(
            input_height=trained.input_size[0],
            input_width=trained.input_size[1],
            bit_depth=trained.bit_depth,
            resize=trained.resize,
            normalization=graph_normalization(trained.config.intensity),
        ),
        postprocessing=Postprocessing(
            threshold=float(threshold.value),
            normal_level=float(threshold.normal_level),
            threshold_method=threshold.method,
            threshold_margin=float(threshold.margin),
            threshold_note=threshold.note,
            sigma_px=float(trained.config.sigma_px),
        ),
        target=target,
        precision=precision,
        graphs={"onnx": ONNX_NAME},
        head={"implementation": "standard-onnx-ops", "bank_size": int(trained.bank.shape[0])},
        training={
            "backbone": trained.config.backbone,
            "intensity": trained.config.intensity,
            "image_count": trained.image_count,
            "dataset_sha256": trained.dataset_sha256,
            "coreset_ratio": trained.config.coreset_ratio,
            "bank_shape": list(trained.bank.shape),
            "train_seconds": round(trained.train_seconds, 2),
            "good_score_max": float(np.max(trained.good_scores)),
            "good_score_median": float(np.median(trained.good_scores)),
            "threshold_target_frr": threshold.target_frr,
            "good_images_above_threshold": threshold.good_above,
            "skipped_files": [{"path": error.path, "kind": error.kind} for error in trained.skipped],
        },
    )


def _write_state(trained: TrainedModel, directory: Path) -> None:
    state = directory / STATE_NAME
    state.parent.mkdir(parents=True, exist_ok=True)
    with open(state, "wb") as stream:
        np.savez(stream, bank=trained.bank, bank_owners=trained.bank_owners, good_scores=trained.good_scores)
    config = asdict(trained.config)
    config.update(
        input_size=list(trained.input_size),
        bit_depth=trained.bit_depth,
        resize_rule=trained.resize,
        threshold=asdict(trained.threshold),
    )
    atomic_write_json(directory / CONFIG_NAME, config)


def _replace_directory(staging: Path, target: Path) -> None:
    if target.exists():
        backup = target.with_name(f".{target.name}.previous")
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(target, backup)
        os.replace(staging, target)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(staging, target)


def load_trained_model(directory: str | os.PathLike[str]) -> TrainedModel:
    """Rebuild the :class:`TrainedModel` stored in a model directory written by :func:`write_model_bundle`.

    Raises:
        engine.bundle.BundleError: the directory is not a model with training state
            (a compiled bundle without it cannot be recompiled).
    """
    root, manifest = load_manifest(directory)
    try:
        config = json.loads((root / CONFIG_NAME).read_text(encoding="utf-8"))
        state = np.load(root / STATE_NAME)
    except FileNotFoundError:
        raise BundleError(
            f"{root}: has no training state ({STATE_NAME}); pass the model directory that inspect train wrote"
        ) from None
    threshold = Threshold(**config.pop("threshold"))
    input_size = tuple(config.pop("input_size"))
    bit_depth = int(config.pop("bit_depth"))
    resize = str(config.pop("resize_rule"))
    config.setdefault("intensity", LEGACY_INTENSITY)
    config.setdefault("target_frr", None)
    train_config = TrainConfig(**{**config, "size": tuple(config["size"]) if config.get("size") else None})
    return TrainedModel(
        config=train_config,
        input_size=input_size,
        bit_depth=bit_depth,
        resize=resize,
        bank=state["bank"],
        bank_owners=state["bank_owners"],
        threshold=threshold,
        good_scores=state["good_scores"],
        image_count=int(manifest.training["image_count"]),
        dataset_sha256=str(manifest.training["dataset_sha256"]),
        train_seconds=float(manifest.training["train_seconds"]),
    )

