"""The installer's smoke test: open the main window offscreen and decode PNG, JPEG and TIFF through Qt."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QImage, QImageReader

from app.gui.main_window import MainWindow

logger = logging.getLogger(__name__)

SELF_TEST_FORMATS = ("png", "jpeg", "tiff")
SELF_TEST_SIZE_PX = (64, 48)


def check_image_formats(folder: Path) -> list[str]:
    """Write and read back a small image in each format; return one message per failure."""
    failures = []
    width, height = SELF_TEST_SIZE_PX
    source = QImage(width, height, QImage.Format.Format_RGB32)
    source.fill(QColor(200, 120, 40))
    for image_format in SELF_TEST_FORMATS:
        path = folder / f"self_test.{image_format}"
        if not source.save(str(path), image_format.upper()):
            failures.append(f"writing a {image_format} file failed: the Qt image plugin for {image_format} is missing")
            continue
        reader = QImageReader(str(path))
        image = reader.read()
        if image.isNull():
            failures.append(f"reading {path.name} failed: {reader.errorString()}")
        elif (image.width(), image.height()) != (width, height):
            failures.append(f"{path.name} decoded as {image.width()}x{image.height()}, expected {width}x{height}")
    return failures


def run_self_test(window: MainWindow) -> int:
    """Show ``window``, check the image plugins, close, and return the process exit code (0 = passed)."""
    window.show()
    QCoreApplication.processEvents()
    with tempfile.TemporaryDirectory(prefix="defectseek-self-test-") as folder:
        failures = check_image_formats(Path(folder))
    window.close()
    QCoreApplication.processEvents()
    for failure in failures:
        print(f"self-test FAILED: {failure}")
    if failures:
        return 1
    print(f"self-test passed: main window opened; {', '.join(SELF_TEST_FORMATS)} decode through Qt")
    return 0
