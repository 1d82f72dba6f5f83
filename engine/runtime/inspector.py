"""Judge images with a bundle: load and verify, pick the engine, preprocess, infer, decide.

This is the line runtime: it imports numpy, OpenCV and the engines, never torch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.bundle import Manifest, load_manifest
from engine.ops.domain import HEAD_NATIVE_OPENVINO, HEAD_STANDARD
from engine.ops.loader import search_kernel
from engine.runtime.defect_types import DefectRegion, RegionClassifier
from engine.runtime.engines import Engine, default_threads, open_engine
from engine.runtime.throughput import (
    EXTRA_PREPARED_IMAGES,
    PreparedImage,
    RequestsInFlight,
    judge_in_flight,
    prepare_ahead,
    requests_in_flight,
)
from labeling.imageio import ImageReadError, LoadedImage, read_image
from labeling.model_input import TilePlan, check_bit_depth, combine_outputs, model_inputs

logger = logging.getLogger(__name__)

OK = "OK"
NG = "NG"
ERROR = "ERROR"

SELF_TEST_MAX_DELTA = 1e-2
"""Largest normalized-score difference the self-test accepts between this engine and the CPU."""


@dataclass(frozen=True)
class Verdict:
    """The judgement of one image.

    ``anomaly_map`` has the image's own height and width and holds raw scores;
    ``normalized_score`` is 0..1 with 0.5 at the threshold. When the bundle has a
    defect-type classifier, an NG image lists its ``regions`` (highest peak first) and
    ``defect_type``/``defect_confidence`` repeat those of the first region.
    """

    score: float
    normalized_score: float
    verdict: str
    threshold: float
    width: int
    height: int
    anomaly_map: np.ndarray
    defect_type: str | None = None
    defect_confidence: float | None = None
    regions: tuple[DefectRegion, ...] = ()


@dataclass(frozen=True)
class ImageResult:
    """The outcome for one source of :meth:`Inspector.inspect_many`: the image and its verdict, or the read error."""

    source: object
    image: LoadedImage | None
    verdict: Verdict | None
    error: ImageReadError | None = None


@dataclass(frozen=True)
class SelfTestResult:
    """This engine's score on the bundle's reference image against the CPU score recorded at compile time."""

    engine: str
    provider: str
    expected_normalized: float
    normalized: float
    expected_verdict: str
    verdict: str

    @property
    def delta(self) -> float:
        """Absolute difference of the normalized scores."""
        return abs(self.normalized - self.expected_normalized)

    @property
    def passed(self) -> bool:
        """True when verdicts match and the normalized scores differ by at most 1e-2."""
        return self.verdict == self.expected_verdict and self.delta <= SELF_TEST_MAX_DELTA


def normalize_score(score: float | np.ndarray, threshold: float, normal_level: float) -> float | np.ndarray:
    """Map a raw score to 0..1: ``normal_level`` to 0, ``threshold`` to 0.5, clipped."""
    spread = max(threshold - normal_level, 1e-12)
    return np.clip(0.5 + 0.5 * (np.asarray(score, dtype=np.float64) - threshold) / spread, 0.0, 1.0)


class Inspector:
    """A verified bundle loaded on one engine."""

    def __init__(self, root: Path, manifest: Manifest, engine: Engine, fallback_warning: str | None) -> None:
        self.root = root
        self.manifest = manifest
        self._engine = engine
        self.fallback_warning = fallback_warning
        self.self_test_result: SelfTestResult | None = None
        self.classifier: RegionClassifier | None = None
        self._features: list[np.ndarray] = []
        self._requests: RequestsInFlight | None = None

    @classmethod
    def open(
        cls,
        bundle: str | os.PathLike[str],
        *,
        engine: str = "auto",
        device: str = "auto",
        threads: int | None = None,
        self_test: bool = True,
    ) -> Inspector:
        """Verify ``bundle`` (schema and hashes) and load its graph.

        With ``self_test`` and a bundle that carries a reference image, the engine
        scores that image and a warning is logged when its verdict or normalized score
        (beyond 1e-2) differs from the CPU result recorded at compile time.

        Raises:
            engine.bundle.BundleError: the bundle is invalid or was modified.
            engine.runtime.engines.EngineUnavailableError: the requested engine or device is unavailable.
        """
        root, manifest = load_manifest(bundle)
        onnx_path = root / manifest.graphs["onnx"]
        openvino_name = manifest.graphs.get("openvino")
        choice = open_engine(
            onnx_path,
            engine=engine,
            device=device,
            threads=threads,
            precision=manifest.precision,
            openvino_model=root / openvino_name if openvino_name else None,
            openvino_native=_native_graph(root, manifest),
            target=manifest.target,
        )
        inspector = cls(root, manifest, choice.engine, choice.fallback_warning)
        inspector.classifier = RegionClassifier.open(root, manifest.task, inspector.engine, threads or default_threads())
        logger.info(
            "Loaded bundle %s on %s (%s), head: %s%s",
            manifest.bundle_id,
            inspector.engine,
            inspector.provider,
            inspector.head_path,
            f" ({inspector.native_kernel})" if inspector.native_kernel else "",
        )
        if self_test:
            inspector.self_test()
        return inspector

    @property
    def engine(self) -> str:
        """Name of the engine in use (``openvino`` or ``onnxruntime``)."""
        return self._engine.name

    @property
    def provider(self) -> str:
        """The provider or device the engine really runs on."""
        return self._engine.provider

    @property
    def head_path(self) -> str:
        """How the head runs here: standard ops, fused function bodies or the native OpenVINO kernels."""
        own = getattr(self._engine, "head_path", None)
        if own is not None:
            return own
        paths = self.manifest.head.get("paths", {})
        return paths.get(self._engine.name, self.manifest.head.get("implementation", HEAD_STANDARD))

    @property
    def native_kernel(self) -> str | None:
        """Kernel of the native nearest-distance search on this CPU (e.g. ``int8-screened-avx512-vnni``), or None.

        None when the head does not run natively here or the bundle predates the ``native_search`` record.
        """
        search = self.manifest.head.get("native_search")
        library = self.manifest.head.get("extension")
        if self.head_path != HEAD_NATIVE_OPENVINO or not search or not library:
            return None
        return search_kernel(self.root / library, search)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Messages for the user: engine fallback and a failed self-test."""
        messages = [self.fallback_warning] if self.fallback_warning else []
        result = self.self_test_result
        if result is not None and not result.passed:
            messages.append(
                f"self-test: {result.engine} on {result.provider} scores the reference image "
                f"{result.normalized:.4f} ({result.verdict}), the same graph scored {result.expected_normalized:.4f} "
                f"({result.expected_verdict}) on the CPU of the compile machine; "
                + (
                    "a different CPU type or runtime version can cause this: compile the bundle on this PC"
                    if result.provider.upper().startswith("CPU")
                    else "check the driver and provider versions, or use --device cpu"
                )
            )
        return tuple(messages)

    def self_test(self) -> SelfTestResult | None:
        """Score the bundle's reference image and compare with the CPU result recorded at compile time.

        Returns None when the bundle carries no reference image (models from ``inspect train``).
        """
        reference = self.manifest.validation.get("reference")
        if not reference:
            return None
        batch = np.load(self.root / reference["input"])
        score = float(np.asarray(self._engine.run(batch)["score"], dtype=np.float64).reshape(-1)[0])
        post = self.manifest.postprocessing
        expected = reference.get("engine_scores", {}).get(self._reference_key(), reference)
        result = SelfTestResult(
            engine=self.engine,
            provider=self.provider,
            expected_normalized=float(expected["normalized_score"]),
            normalized=float(normalize_score(score, post.threshold, post.normal_level)),
            expected_verdict=str(expected["verdict"]),
            verdict=NG if score > post.threshold else OK,
        )
        self.self_test_result = result
        if not result.passed:
            logger.warning("%s", self.warnings[-1])
        return result

    def _reference_key(self) -> str:
        """Name of the compile-time CPU run of the graph this engine loads (any ONNX Runtime provider: the CPU run)."""
        if self.head_path == HEAD_NATIVE_OPENVINO:
            return "openvino+native-head"
        if self.engine == "openvino":
            return "openvino"
        return "onnxruntime:CPUExecutionProvider"

    @property
    def threshold(self) -> float:
        """The bundle's decision threshold on the raw score."""
        return self.manifest.postprocessing.threshold

    def run_batch(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the graph on a prepared N x 3 x H x W batch and return (maps N x H x W, scores N)."""
        outputs = self._engine.run(batch)
        maps = np.asarray(outputs["anomaly_map"], dtype=np.float32)[:, 0]
        scores = np.asarray(outputs["score"], dtype=np.float64).reshape(-1)
        if self.classifier is not None:
            self._features.append(np.asarray(outputs["features"], dtype=np.float32))
        return maps, scores

    def check_image(self, image: LoadedImage) -> None:
        """Raise :class:`labeling.imageio.ImageReadError` when ``image`` cannot be judged by this bundle.

        Today the one such case is data deeper than the bit depth the model was trained at.
        """
        check_bit_depth(image, self.manifest.preprocessing.bit_depth)

    def inspect_images(self, images: Sequence[LoadedImage], batch_size: int = 1) -> list[Verdict]:
        """Judge images; results come back in input order and do not depend on ``batch_size``.

        ``batch_size`` counts graph inputs, so a tiled image may span several batches.

        Raises:
            labeling.imageio.ImageReadError: an image is deeper than the model's bit depth;
                call :meth:`check_image` first to judge the others.
        """
        prep = self.manifest.preprocessing
        prepared = [model_inputs(image, self.manifest.input_size, prep.bit_depth, prep.resize) for image in images]
        rows = np.concatenate([inputs for inputs, _ in prepared]) if prepared else np.empty((0,))
        self._features = []
        maps, scores = self._run_rows(rows, max(1, batch_size))
        features = np.concatenate(self._features) if self._features else None
        verdicts: list[Verdict] = []
        start = 0
        for image, (inputs, plan) in zip(images, prepared):
            stop = start + inputs.shape[0]
            part = features[start:stop] if features is not None else None
            verdicts.append(self._judge(image, plan, maps[start:stop], scores[start:stop], part))
            start = stop
        return verdicts

    def inspect_many(
        self,
        sources: Iterable[object],
        load: Callable[[object], LoadedImage] = read_image,
        *,
        throughput: bool = True,
    ) -> Iterator[ImageResult]:
        """Judge the images that ``load`` reads from ``sources``, yielding one result per source in input order.

        A worker thread reads and resizes the next images while the engine runs. With
        ``throughput`` on OpenVINO, several inputs are in flight on separate streams
        within the same thread budget (``OpenVinoEngine.throughput_model``). ONNX Runtime,
        and OpenVINO without ``throughput``, run one input at a time. Either way every
        image gets the score and verdict that :meth:`inspect_images` gives it at batch
        size 1. A source whose ``load`` raises :class:`labeling.imageio.ImageReadError`
        yields a result with that error and no verdict.
        """
        requests = self._requests_in_flight() if throughput else None
        ahead = (requests.requests if requests is not None else 1) + EXTRA_PREPARED_IMAGES
        prepared = prepare_ahead(sources, lambda index, source: self._prepare(index, source, load), ahead)
        if requests is None:
            for item in prepared:
                rows = 0 if item.inputs is None else item.inputs.shape[0]
                outputs = [self._engine.run(item.inputs[row : row + 1]) for row in range(rows)]
                yield self._finish(item, outputs)
            return
        yield from judge_in_flight(prepared, requests, self._finish)

    def _requests_in_flight(self) -> RequestsInFlight | None:
        """Return the engine's requests for several inputs in flight, or None when it runs one at a time."""
        if self._requests is None:
            compile_for_throughput = getattr(self._engine, "throughput_model", None)
            if compile_for_throughput is None:
                return None
            self._requests = requests_in_flight(compile_for_throughput(), self._engine.output_names)
            logger.info("Judging with %d requests in flight", self._requests.requests)
        return self._requests

    def _prepare(self, index: int, source: object, load: Callable[[object], LoadedImage]) -> PreparedImage:
        prep = self.manifest.preprocessing
        try:
            image = load(source)
            inputs, plan = model_inputs(image, self.manifest.input_size, prep.bit_depth, prep.resize)
        except ImageReadError as error:
            return PreparedImage(index, source, None, None, None, error)
        return PreparedImage(index, source, image, np.ascontiguousarray(inputs, dtype=np.float32), plan)

    def _finish(self, item: PreparedImage, outputs: list[dict[str, np.ndarray]]) -> ImageResult:
        if item.image is None:
            return ImageResult(item.source, None, None, item.error)
        maps = np.concatenate([np.asarray(part["anomaly_map"], dtype=np.float32)[:, 0] for part in outputs])
        scores = np.concatenate([np.asarray(part["score"], dtype=np.float64).reshape(-1) for part in outputs])
        features = None
        if self.classifier is not None:
            features = np.concatenate([np.asarray(part["features"], dtype=np.float32) for part in outputs])
        return ImageResult(item.source, item.image, self._judge(item.image, item.plan, maps, scores, features))

    def _judge(
        self, image: LoadedImage, plan: TilePlan | None, maps: np.ndarray, scores: np.ndarray, features: np.ndarray | None
    ) -> Verdict:
        """Combine the outputs of one image's graph inputs into its map and score, decide, and type an NG verdict's defects."""
        anomaly_map, score = combine_outputs(maps, scores, plan, image.height, image.width)
        verdict = self._decide(image, anomaly_map, score)
        if verdict.verdict == NG and features is not None and self.classifier is not None:
            verdict = self._with_types(verdict, features, plan)
        return verdict

    def _run_rows(self, rows: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        maps, scores = [], []
        for start in range(0, rows.shape[0], batch_size):
            batch_maps, batch_scores = self.run_batch(np.ascontiguousarray(rows[start : start + batch_size]))
            maps.append(batch_maps)
            scores.append(batch_scores)
        if not maps:
            return np.empty((0, 0, 0), np.float32), np.empty((0,))
        return np.concatenate(maps), np.concatenate(scores)

    def _decide(self, image: LoadedImage, anomaly_map: np.ndarray, score: float) -> Verdict:
        post = self.manifest.postprocessing
        return Verdict(
            score=score,
            normalized_score=float(normalize_score(score, post.threshold, post.normal_level)),
            verdict=NG if score > post.threshold else OK,
            threshold=post.threshold,
            width=image.width,
            height=image.height,
            anomaly_map=anomaly_map,
        )

    def _with_types(self, verdict: Verdict, features: np.ndarray, plan: TilePlan | None) -> Verdict:
        post = self.manifest.postprocessing
        regions = self.classifier.classify(
            verdict.anomaly_map, features, plan, self.manifest.input_size, post.threshold, post.normal_level
        )
        if not regions:
            return verdict
        top = regions[0]
        return replace(verdict, regions=regions, defect_type=top.defect_type, defect_confidence=top.confidence)


def _native_graph(root: Path, manifest: Manifest) -> tuple[Path, Path] | None:
    native = manifest.graphs.get("openvino_native")
    library = manifest.head.get("extension")
    if not native or not library:
        return None
    return root / native, root / library
