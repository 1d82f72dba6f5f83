"""Render the Label page offscreen in English and Simplified Chinese and save PNG screenshots.

Usage (from the repository root)::

    python app/gui/screenshots/make_screenshots.py [--out docs/screenshots]

The project is built in a temporary folder from the sample images in
``assets/sample/test``. One image gets a rectangle, its ground-truth mask and an
NG verdict, so the screenshot shows every kind of label.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT))

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.gui.i18n import install_translators  # noqa: E402
from app.gui.settings import APPLICATION_NAME, ORGANIZATION_NAME, studio_settings  # noqa: E402
from labeling.imageio import read_mask  # noqa: E402
from labeling.model import PixelMask, Rectangle, Region, Verdict  # noqa: E402
from labeling.project import Project  # noqa: E402

SAMPLE_TEST = REPO_ROOT / "assets" / "sample" / "test"
SAMPLE_MASKS = REPO_ROOT / "assets" / "sample" / "ground_truth"
WINDOW_SIZE = (1400, 860)
LABELLED_ID = "test/crack/exp1_num_249594"


def build_project(folder: Path) -> Path:
    """Create a sample project with one NG image that has a rectangle and a mask."""
    root = folder / "sample-project"
    with Project.create(root, "Magnetic tiles", ["crack", "blowhole"]) as project:
        project.add_images([SAMPLE_TEST.parent / "test"], copy=False)
        label = project.get_label(LABELLED_ID)
        mask = read_mask(SAMPLE_MASKS / "crack" / "exp1_num_249594_mask.png", (label.image_height, label.image_width))
        rows, cols = mask.nonzero()
        box = Rectangle(float(cols.min() - 6), float(rows.min() - 6), float(cols.max() + 7), float(rows.max() + 7))
        regions = (
            Region(shape=box, defect_type="crack"),
            Region(shape=PixelMask.from_array(mask), defect_type="crack"),
        )
        project.save_label(LABELLED_ID, replace(label, verdict=Verdict.NG, defect_type="crack", regions=regions))
    return root


def grab(project_root: Path, language: str, out_path: Path) -> None:
    """Open the Label page of ``project_root`` in ``language`` and save the window as ``out_path``."""
    from app.gui.main_window import MainWindow

    app = QApplication.instance()
    translators = install_translators(app, language)
    window = MainWindow(studio_settings(), None)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.pages["project"].open_project(project_root)
    window.show_page("label")
    page = window.pages["label"]
    page.open_image(LABELLED_ID)
    for _ in range(20):
        QCoreApplication.processEvents()
    page.browser.thumbnails.shutdown()
    QCoreApplication.processEvents()
    page.canvas.fit_to_window()
    QCoreApplication.processEvents()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out_path)):
        raise OSError(f"could not write the screenshot {out_path}; check that the folder is writable")
    window.close()
    for translator in translators:
        app.removeTranslator(translator)
    print(f"wrote {out_path}")


def main(argv: list[str] | None = None) -> int:
    """Write label-en.png and label-zh_CN.png into the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots", help="output folder")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION_NAME)
    app.setApplicationName(APPLICATION_NAME)
    with tempfile.TemporaryDirectory(prefix="defectseek-screenshots-") as folder:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(folder) / "settings"))
        project_root = build_project(Path(folder))
        for language in ("en", "zh_CN"):
            grab(project_root, language, args.out / f"label-{language}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
