"""Judge many images with several inference requests in flight, results in input order.

Folder inspection does not need the lowest latency per image but the most images per
second. Two things raise it on a small CPU: several OpenVINO infer requests in flight
on separate streams (see ``OpenVinoEngine.throughput_model``), and reading, decoding
and resizing the next images on a worker thread while the engine runs. OpenCV and
the engines release the GIL, so the work overlaps. The line runtime imports this
module: it uses numpy and the standard library, and OpenVINO only through the
compiled model it is given.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from labeling.imageio import ImageReadError, LoadedImage
from labeling.model_input import TilePlan

logger = logging.getLogger(__name__)

Source = TypeVar("Source")

EXTRA_PREPARED_IMAGES = 2
"""Images prepared ahead of those in flight, so that a slow decode rarely leaves the engine idle."""

SPARE_REQUESTS = 1
"""Requests beyond OpenVINO's optimal number (one per stream).

While Python copies a finished request's outputs and submits the next input, that stream
would otherwise sit idle. With one spare request it already has its next input. On 2 streams,
3 requests judged 6 to 9 % more images per second than 2; 4 or 6 gave no more than 3.
"""


@dataclass(frozen=True)
class PreparedImage(Generic[Source]):
    """One source read and turned into model inputs, or the error that stopped it."""

    index: int
    source: Source
    image: LoadedImage | None
    inputs: np.ndarray | None
    plan: TilePlan | None
    error: ImageReadError | None = None


def prepare_ahead(
    sources: Iterable[Source],
    prepare: Callable[[int, Source], PreparedImage[Source]],
    ahead: int,
) -> Iterator[PreparedImage[Source]]:
    """Yield ``prepare(index, source)`` for every source in order, computed up to ``ahead`` items early.

    One worker thread does the preparing. ``prepare`` must return read errors inside the
    ``PreparedImage``, because any other exception is raised here when its item is reached.
    """
    pending: deque[Future] = deque()
    iterator = enumerate(sources)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="defectseek-prepare") as pool:
        try:
            for index, source in iterator:
                pending.append(pool.submit(prepare, index, source))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


class RequestsInFlight:
    """Several infer requests of one OpenVINO compiled model, with outputs collected by key.

    ``submit`` blocks while every request is busy, so at most ``requests`` graph inputs
    are in flight. Outputs are copied out of the request in its completion callback,
    because the request is reused for the next input.
    """

    def __init__(self, compiled, output_names: Sequence[str], requests: int) -> None:
        import openvino as ov

        self.requests = max(1, int(requests))
        self._outputs = list(compiled.outputs)
        self._names = list(output_names)
        self._queue = ov.AsyncInferQueue(compiled, self.requests)
        self._queue.set_callback(self._collect)
        self._lock = threading.Lock()
        self._finished: dict[object, dict[str, np.ndarray]] = {}
        self._failures: dict[object, str] = {}

    def _collect(self, request, key: object) -> None:
        try:
            values = {
                name: np.array(request.get_tensor(output).data, copy=True)
                for name, output in zip(self._names, self._outputs)
            }
        except Exception as error:  # noqa: BLE001 - an OpenVINO callback must not raise
            logger.error("Copying the outputs of input %s failed: %s", key, error)
            with self._lock:
                self._failures[key] = f"{type(error).__name__}: {error}"
            return
        with self._lock:
            self._finished[key] = values

    def submit(self, key: object, row: np.ndarray) -> None:
        """Start inference of one N x 3 x H x W input and store its outputs under ``key``."""
        self._queue.start_async({0: np.ascontiguousarray(row)}, userdata=key)

    def take_all(self, keys: Sequence[object]) -> list[dict[str, np.ndarray]] | None:
        """Return and forget the outputs of all ``keys`` once every one has finished, else None.

        Raises:
            RuntimeError: the inference of one of ``keys`` failed. The message contains OpenVINO's error.
        """
        with self._lock:
            for key in keys:
                failure = self._failures.pop(key, None)
                if failure is not None:
                    raise RuntimeError(f"OpenVINO inference failed: {failure}")
            if not all(key in self._finished for key in keys):
                return None
            return [self._finished.pop(key) for key in keys]

    def wait(self) -> None:
        """Block until every submitted input has finished."""
        self._queue.wait_all()

    def reset(self) -> None:
        """Wait for every submitted input, then drop the outputs and errors that no caller collected."""
        self._queue.wait_all()
        with self._lock:
            self._finished.clear()
            self._failures.clear()


def requests_in_flight(compiled, output_names: Sequence[str]) -> RequestsInFlight:
    """Return the requests for ``compiled``: its optimal number plus :data:`SPARE_REQUESTS`."""
    optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    return RequestsInFlight(compiled, output_names, optimal + SPARE_REQUESTS)


def judge_in_flight(
    prepared: Iterable[PreparedImage[Source]],
    requests: RequestsInFlight,
    finish: Callable[[PreparedImage[Source], list[dict[str, np.ndarray]]], object],
) -> Iterator[object]:
    """Submit every graph input of the prepared images and yield ``finish(item, outputs)`` in input order.

    A tiled image has several inputs, and ``finish`` gets their outputs in tile order. Items
    that failed to read are finished with an empty output list, in their place.
    """
    # A previous caller may have stopped early, leaving outputs stored under the same keys.
    requests.reset()
    waiting: deque[PreparedImage[Source]] = deque()
    for item in prepared:
        rows = 0 if item.inputs is None else item.inputs.shape[0]
        for row in range(rows):
            requests.submit((item.index, row), item.inputs[row : row + 1])
        waiting.append(item)
        yield from _finished_in_order(waiting, requests, finish, block=False)
    requests.wait()
    yield from _finished_in_order(waiting, requests, finish, block=True)


def _finished_in_order(
    waiting: deque[PreparedImage[Source]],
    requests: RequestsInFlight,
    finish: Callable[[PreparedImage[Source], list[dict[str, np.ndarray]]], object],
    block: bool,
) -> Iterator[object]:
    """Yield the results of the leading items whose inputs have all finished."""
    while waiting:
        item = waiting[0]
        rows = 0 if item.inputs is None else item.inputs.shape[0]
        outputs = requests.take_all([(item.index, row) for row in range(rows)])
        if outputs is None:
            if block:
                raise RuntimeError(f"OpenVINO returned no outputs for image {item.index} after all requests finished")
            return
        waiting.popleft()
        yield finish(item, outputs)
