"""Choose per model which leading blocks and depthwise convolutions the NNCF-quantized OpenVINO graph keeps in float.

An all-INT8 backbone is the fastest, but on some models the INT8 input of a few
depthwise convolutions moves scores enough to fail the accuracy guard. The search
quantizes with few leading blocks in float and every candidate depthwise convolution in
INT8 first, and stops there when the guard passes. Otherwise it ranks the candidates
once by sensitivity: the score error against fp32 when only that layer's input quantizer
is bypassed in the first graph. It then re-quantizes with the most sensitive layers in
float, at most ``MAX_EXTRA_ROUNDS`` times. Every candidate is float in the last of
these rounds, which also keeps the fallback number of leading blocks in float. The
guard's validation images decide every step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.compile.fuse import DEPTHWISE_SCOPE

logger = logging.getLogger(__name__)

MAX_EXTRA_ROUNDS = 3
"""Quantize-and-validate rounds after the first one."""
MAX_UPSTREAM_STEPS = 4
"""Operations (such as the zero ``Pad``) allowed between a depthwise convolution and its input quantizer."""


@dataclass(frozen=True)
class Evaluation:
    """The score error of one graph against fp32 on the validation images, and its guard violations."""

    score_error: float
    problems: tuple[str, ...]


@dataclass(frozen=True)
class SearchRound:
    """One quantize-and-validate round: the leading blocks and the depthwise blocks kept float, and the outcome."""

    float_blocks: int
    float_depthwise: tuple[int, ...]
    score_error: float
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether the guard accepted this round's graph."""
        return not self.problems


@dataclass(frozen=True)
class FloatLayerSearch:
    """The outcome of the search: the float layers chosen, the sensitivity ranking and every round.

    ``float_blocks`` counts the leading backbone blocks kept in float, besides the stem.
    """

    float_blocks: int
    float_depthwise: tuple[int, ...]
    candidates: tuple[int, ...]
    sensitivity: tuple[tuple[int, float], ...]
    rounds: tuple[SearchRound, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready record for the manifest."""
        return {
            "leading_float_blocks": self.float_blocks,
            "float_depthwise_blocks": list(self.float_depthwise),
            "candidate_blocks": list(self.candidates),
            "sensitivity": [{"block": block, "score_error_when_float": error} for block, error in self.sensitivity],
            "rounds": [
                {
                    "leading_float_blocks": step.float_blocks,
                    "float_depthwise_blocks": list(step.float_depthwise),
                    "score_error": step.score_error,
                    "passed": step.passed,
                    "problems": list(step.problems),
                }
                for step in self.rounds
            ],
        }


def search_float_layers(
    candidates: Sequence[int],
    quantize: Callable[[int, tuple[int, ...]], Any],
    bypass: Callable[[Any, tuple[int, ...]], Any],
    evaluate: Callable[[Any], Evaluation],
    float_blocks: int,
    fallback_float_blocks: int | None = None,
    max_extra_rounds: int = MAX_EXTRA_ROUNDS,
) -> tuple[Any, FloatLayerSearch]:
    """Return the quantized model with the fewest float layers found to pass the guard, and the record.

    Args:
        candidates: blocks whose depthwise convolution may stay float.
        quantize: returns the model quantized with the given number of leading blocks
            and the given blocks' depthwise convolutions kept in float.
        bypass: returns a copy of a quantized model whose given blocks' depthwise
            inputs skip their quantizer. The search ranks the candidates and sizes
            the first re-quantization with these copies, so it runs no quantizer there.
        evaluate: scores a model on the validation images against fp32.
        float_blocks: leading blocks kept in float in every round but the fallback one.
        fallback_float_blocks: leading blocks kept in float in the last round, which
            also keeps every candidate in float; None means ``float_blocks``.
        max_extra_rounds: quantize-and-validate rounds after the first one.

    The first extra round keeps the shortest prefix of the sensitivity ranking whose
    bypassed copy of the first graph passes the guard (every candidate when none does).
    Later rounds double the prefix, and the last of them at ``float_blocks`` keeps every
    candidate. When ``fallback_float_blocks`` differs from ``float_blocks``, one round is
    kept for the fallback. When even the last round fails, its model is returned and the
    caller's guard rejects it.
    """
    candidates = tuple(sorted(set(candidates)))
    fallback = float_blocks if fallback_float_blocks is None else fallback_float_blocks
    model = quantize(float_blocks, ())
    first = evaluate(model)
    rounds = [SearchRound(float_blocks, (), first.score_error, first.problems)]
    logger.info(
        "OpenVINO INT8, leading blocks in float: %d, no float depthwise convolution: score error %.4f",
        float_blocks,
        first.score_error,
    )
    if not first.problems or max_extra_rounds < 1:
        return model, FloatLayerSearch(float_blocks, (), candidates, (), tuple(rounds))

    order, sensitivity = _rank(model, candidates, bypass, evaluate)
    plan = _plan(model, order, bypass, evaluate, float_blocks, fallback, max_extra_rounds)
    chosen: tuple[int, tuple[int, ...]] = (float_blocks, ())
    for leading, size in plan:
        chosen = (leading, tuple(sorted(order[:size])))
        model = quantize(*chosen)
        outcome = evaluate(model)
        rounds.append(SearchRound(*chosen, outcome.score_error, outcome.problems))
        logger.info(
            "OpenVINO INT8, leading blocks in float: %d, depthwise convolutions in float: %s: "
            "score error %.4f, guard %s",
            leading,
            block_list(chosen[1]),
            outcome.score_error,
            "passed" if not outcome.problems else "failed",
        )
        if not outcome.problems:
            break
    return model, FloatLayerSearch(chosen[0], chosen[1], candidates, sensitivity, tuple(rounds))


def _rank(model, candidates: tuple[int, ...], bypass, evaluate):
    """Return the candidates ordered by the score error of ``model`` with only their input in float, and the errors."""
    errors = {block: evaluate(bypass(model, (block,))).score_error for block in candidates}
    order = tuple(sorted(candidates, key=lambda block: (errors[block], block)))
    sensitivity = tuple((block, errors[block]) for block in order)
    logger.info("Depthwise inputs by sensitivity (score error with only that one in float): %s", sensitivity)
    return order, sensitivity


def block_list(blocks: Sequence[int]) -> str:
    """Return ``blocks`` for a log line: ``blocks 11, 12`` or ``none``."""
    return "blocks " + ", ".join(str(block) for block in blocks) if blocks else "none"


def _plan(model, order, bypass, evaluate, float_blocks: int, fallback: int, rounds: int) -> list[tuple[int, int]]:
    """Return the (leading float blocks, depthwise prefix size) of each extra round."""
    at_start = rounds - 1 if fallback != float_blocks else rounds
    plan = []
    if order and at_start > 0:
        first = _first_passing_prefix(model, order, bypass, evaluate)
        plan = [(float_blocks, size) for size in _round_sizes(first, len(order), at_start)]
    if fallback != float_blocks:
        plan.append((fallback, len(order)))
    return plan


def _first_passing_prefix(model, order: tuple[int, ...], bypass, evaluate) -> int:
    """Return the length of the shortest prefix of ``order`` whose bypassed copy passes, else ``len(order)``."""
    for size in range(1, len(order)):
        if not evaluate(bypass(model, order[:size])).problems:
            return size
    return len(order)


def _round_sizes(first: int, count: int, rounds: int) -> list[int]:
    """Return the prefix sizes to quantize: ``first``, then doubled, the last one ``count``, ``rounds`` at most."""
    sizes = []
    size = first
    while len(sizes) < rounds - 1 and size < count:
        sizes.append(size)
        size = min(2 * size, count)
    sizes.append(count)
    return sizes


def bypass_depthwise_inputs(model, blocks: Sequence[int]):
    """Return a copy of an NNCF-quantized OpenVINO model whose depthwise inputs of ``blocks`` skip their quantizer.

    The quantizer is the ``FakeQuantize`` that feeds the convolution, through at most
    ``MAX_UPSTREAM_STEPS`` single-input operations such as the zero ``Pad``. Other
    consumers of that quantizer, if any, skip it too. The weights stay quantized, so
    the convolution runs in float on INT8-rounded weights.

    Raises:
        ValueError: a named block has no quantized depthwise input in ``model``.
    """
    copy = model.clone()
    prefixes = {DEPTHWISE_SCOPE.format(index=block): block for block in blocks}
    found = set()
    for operation in copy.get_ordered_ops():
        if operation.get_type_name() != "GroupConvolution":
            continue
        name = operation.get_friendly_name()
        block = next((index for prefix, index in prefixes.items() if name.startswith(prefix)), None)
        if block is None:
            continue
        quantizer = _input_quantizer(operation)
        if quantizer is None:
            continue
        for target in list(quantizer.output(0).get_target_inputs()):
            target.replace_source_output(quantizer.input_value(0))
        found.add(block)
    missing = sorted(set(blocks) - found)
    if missing:
        raise ValueError(f"blocks {missing} have no quantized depthwise input in this model; check the block indices")
    return copy


def _input_quantizer(convolution):
    """Return the ``FakeQuantize`` that feeds the data input of ``convolution``, or None."""
    node = convolution.input_value(0).get_node()
    for _ in range(MAX_UPSTREAM_STEPS):
        if node.get_type_name() == "FakeQuantize":
            return node
        if node.get_type_name() not in ("Pad", "Reshape", "Convert"):
            return None
        node = node.input_value(0).get_node()
    return None
