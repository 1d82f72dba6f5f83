"""Keep the output of third-party libraries out of the ``inspect`` command's output unless ``--verbose`` is given.

ONNX Runtime's quantizer prints its calibration steps with ``print`` and logs advice
for its own developers on the root logger, and NNCF draws rich progress bars on
stdout. The CLI's stdout carries results that scripts parse, and its stderr carries
the messages that a user acts on, so this output is dropped by default. With
``--verbose`` the log records pass, and printed output goes to stderr.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator

OWN_PACKAGES = frozenset({"app", "engine", "fewshot", "anomaly", "labeling"})


class OwnRecordsFilter(logging.Filter):
    """Pass records of DefectSeek's packages, and third-party records at ERROR or above."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return True when the record should be shown without ``--verbose``."""
        if record.levelno >= logging.ERROR:
            return True
        return record.name.split(".", 1)[0] in OWN_PACKAGES


class _DiscardedText(io.TextIOBase):
    """A text stream that drops what is written and is never closed.

    Libraries may keep a reference to ``sys.stdout`` from the moment they are imported
    (NNCF's log handler does), so the stream must stay usable after the redirection ends.
    """

    def write(self, text: str) -> int:
        """Drop ``text`` and report it as written."""
        return len(text)

    def isatty(self) -> bool:
        """Return False, so that progress bars do not draw terminal animations."""
        return False


_DISCARDED = _DiscardedText()


@contextlib.contextmanager
def third_party_stdout(verbose: bool) -> Iterator[None]:
    """Send what is printed to ``sys.stdout`` inside the block to stderr with ``verbose``, else drop it.

    Only Python-level writes are redirected. Output that native code writes to file
    descriptor 1 still reaches stdout.
    """
    target = sys.stderr if verbose else _DISCARDED
    with contextlib.redirect_stdout(target):
        yield
