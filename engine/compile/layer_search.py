"""Choose per model which depthwise convolutions the NNCF-quantized OpenVINO graph keeps in float.

An all-INT8 backbone is the fastest, but on some models the INT8 input of a few
depthwise convolutions moves scores enough to fail the accuracy guard. The search
quantizes all candidates to INT8 first and stops there when the guard passes. Otherwise
it ranks the candidates once by sensitivity: the score error against fp32 when only that
layer's input quantizer is bypassed in the all-INT8 graph. It then re-quantizes with the
most sensitive layers in float, at most ``MAX_EXTRA_ROUNDS`` times, the last time with
every candidate in float. The guard's validation images decide every step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.compile.fuse import DEPTHWISE_SCOPE

logger = logging.getLogger(__name__)

MAX_EXTRA_ROUNDS = 3
"""Quantize-and-validate rounds after the all-INT8 one."""
MAX_UPSTREAM_STEPS = 4
"""Operations (such as the zero ``Pad``) allowed between a depthwise convolution and its input quantizer."""


@dataclass(frozen=True)
class Evaluation:
    """The score error of one graph against fp32 on the validation images, and its guard violations."""

    score_error: float
    problems: tuple[str, ...]


@dataclass(frozen=True)
class SearchRound:
    """One quantize-and-validate round: the blocks whose depthwise convolution stayed float, and the outcome."""

    float_depthwise: tuple[int, ...]
    score_error: float
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether the guard accepted this round's graph."""
        return not self.problems


@dataclass(frozen=True)
class DepthwiseSearch:
    """The outcome of the search: the float blocks chosen, the sensitivity ranking and every round."""

    float_depthwise: tuple[int, ...]
    candidates: tuple[int, ...]
    sensitivity: tuple[tuple[int, float], ...]
    rounds: tuple[SearchRound, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready record for the manifest."""
        return {
            "float_depthwise_blocks": list(self.float_depthwise),
            "candidate_blocks": list(self.candidates),
            "sensitivity": [{"block": block, "score_error_when_float": error} for block, error in self.sensitivity],
            "rounds": [
                {
                    "float_depthwise_blocks": list(step.float_depthwise),
                    "score_error": step.score_error,
                    "passed": step.passed,
                    "problems": list(step.problems),
                }
                for step in self.rounds
            ],
        }


def search_float_depthwise(
    candidates: Sequence[int],
    quantize: Callable[[tuple[int, ...]], Any],
    bypass: Callable[[Any, tuple[int, ...]], Any],
    evaluate: Callable[[Any], Evaluation],
    max_extra_rounds: int = MAX_EXTRA_ROUNDS,
) -> tuple[Any, DepthwiseSearch]:
    """Return the quantized model with the fewest float depthwise convolutions found to pass the guard, and the record.

    Args:
        candidates: blocks whose depthwise convolution may stay float.
        quantize: returns the model quantized with the given blocks' depthwise
            convolutions kept in float.
        bypass: returns a copy of a quantized model whose given blocks' depthwise
            inputs skip their quantizer. The search ranks the candidates and sizes
            the first re-quantization with these copies, so it runs no quantizer there.
        evaluate: scores a model on the validation images against fp32.
        max_extra_rounds: quantize-and-validate rounds after the all-INT8 one; the
            last of them keeps every candidate in float.

    The first extra round keeps the shortest prefix of the sensitivity ranking whose
    bypassed copy of the all-INT8 graph passes the guard (every candidate when none
    does), and later rounds double it. When even the last round fails, its model is
    returned and the caller's guard rejects it.
    """
    candidates = tuple(sorted(set(candidates)))
    model = quantize(())
    first = evaluate(model)
    rounds = [SearchRound((), first.score_error, first.problems)]
    logger.info("OpenVINO INT8 with every depthwise convolution in INT8: score error %.4f", first.score_error)
    if not first.problems or not candidates or max_extra_rounds < 1:
        return model, DepthwiseSearch((), candidates, (), tuple(rounds))

    all_int8 = model
    errors = {block: evaluate(bypass(all_int8, (block,))).score_error for block in candidates}
    order = tuple(sorted(candidates, key=lambda block: (errors[block], block)))
    sensitivity = tuple((block, errors[block]) for block in order)
    logger.info("Depthwise inputs by sensitivity (score error with only that one in float): %s", sensitivity)

    blocks: tuple[int, ...] = ()
    for size in _round_sizes(_first_passing_prefix(all_int8, order, bypass, evaluate), len(order), max_extra_rounds):
        blocks = tuple(sorted(order[:size]))
        model = quantize(blocks)
        outcome = evaluate(model)
        rounds.append(SearchRound(blocks, outcome.score_error, outcome.problems))
        logger.info(
            "OpenVINO INT8 with the depthwise convolutions of blocks %s in float: score error %.4f, guard %s",
            list(blocks),
            outcome.score_error,
            "passed" if not outcome.problems else "failed",
        )
        if not outcome.problems:
            break
    return model, DepthwiseSearch(blocks, candidates, sensitivity, tuple(rounds))


def _first_passing_prefix(model, order: tuple[int, ...], bypass, evaluate) -> int:
    """Return the length of the shortest prefix of ``order`` whose bypassed copy passes the guard, else ``len(order)``."""
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
