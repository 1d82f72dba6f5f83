"""Render the Project, Train, Evaluate, Deploy and Inspect pages in English and Simplified Chinese.

Usage (from the repository root)::

    python app/gui/screenshots/make_workflow_screenshots.py [--data FOLDER] [--out docs/screenshots] [--pages train ...]

``--data`` is an MVTec-layout folder; the default is ``../shared/data/magnetic_tile``
beside the repository, or ``assets/sample`` when that is missing. The script trains a
128 x 128 model on 10 good images, evaluates it, builds a CPU bundle and inspects the
test images once, then shows the results on each page and saves ``<page>-<language>.png``.
``--pages`` limits the screenshots to the named pages and skips the Deploy and Inspect
work when neither of them is named.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT))

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.gui.i18n import install_translators  # noqa: E402
from app.gui.settings import APPLICATION_NAME, ORGANIZATION_NAME, studio_settings  # noqa: E402
from app.gui.workflow import project_data  # noqa: E402
from app.gui.workflow.dataset_import import import_dataset  # noqa: E402
from app.gui.workflow.deploy_job import DeployRequest, run_deploy  # noqa: E402
from app.gui.workflow.evaluation import evaluate_bundle  # noqa: E402
from app.gui.workflow.inspection import InspectRequest, run_inspection  # noqa: E402
from app.gui.workflow.train_job import TrainRequest, run_training  # noqa: E402
from labeling.project import Project  # noqa: E402

SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "magnetic_tile"
SAMPLE_DATA = REPO_ROOT / "assets" / "sample"
WINDOW_SIZE = (1400, 900)
TRAIN_IMAGES = 10
TEST_IMAGES_PER_FOLDER = 6
PAGES = ("project", "train", "evaluate", "deploy", "inspect")


def _ignore(*_args: object) -> None:
    return None


def make_slice(source: Path, target: Path) -> Path:
    """Copy 10 train/good images and up to 6 images per test folder (with masks) into ``target``."""
    for folder in sorted(path for path in source.glob("*/*") if path.is_dir() and path.parent.name in ("train", "test")):
        limit = TRAIN_IMAGES if folder.parent.name == "train" else TEST_IMAGES_PER_FOLDER
        destination = target / folder.parent.name / folder.name
        destination.mkdir(parents=True)
        for image in sorted(folder.glob("*.png"))[:limit]:
            shutil.copy2(image, destination / image.name)
            mask = source / "ground_truth" / folder.name / f"{image.stem}_mask.png"
            if mask.is_file():
                (target / "ground_truth" / folder.name).mkdir(parents=True, exist_ok=True)
                shutil.copy2(mask, target / "ground_truth" / folder.name / mask.name)
    return target


def run_workflow(dataset: Path, project_root: Path, pages: tuple[str, ...] = PAGES) -> dict:
    """Import, train, evaluate, build a CPU bundle and inspect once; return what the pages show.

    The bundle build and the inspection run only when ``pages`` names Deploy or Inspect.
    """
    with Project.create(project_root, "Magnetic tiles", []) as project:
        import_dataset(project, dataset, copy=False)
        good = project_data.good_training_images(project)
        model_dir = project_data.new_model_dir(project_root)
        request = TrainRequest(tuple(str(path) for path in good), str(model_dir), size=(128, 128))
        trained = run_training(request, _ignore, threading.Event())
        evaluation = evaluate_bundle(model_dir, project, project_data.labelled_samples(project, "test"))
    outcome = {"trained": trained, "evaluation": evaluation, "bundles": [], "inspection": [],
               "test_folder": str(dataset / "test")}
    if "deploy" not in pages and "inspect" not in pages:
        return outcome
    deploy = DeployRequest(str(model_dir), str(project_root / project_data.BUNDLES_FOLDER), ("cpu",),
                           sample_images=tuple(str(path) for path in good[:5]),
                           calibration_images=tuple(str(path) for path in good))
    (project_root / project_data.BUNDLES_FOLDER).mkdir(exist_ok=True)
    bundles = run_deploy(deploy, _ignore, threading.Event())["bundles"]
    results: list = []
    run_inspection(InspectRequest(bundles[0]["path"], folder=str(dataset / "test"), emit=results.append),
                   _ignore, threading.Event())
    return {**outcome, "bundles": bundles, "inspection": results}


def show_results(window, outcome: dict) -> None:
    """Put the workflow's results on the pages, as a user's session would leave them."""
    train = window.pages["train"]
    train.size_combo.setCurrentIndex(train.size_combo.findData("128"))
    train.progress_bar.setRange(0, 1)
    train.progress_bar.setValue(1)
    train.show_result(outcome["trained"])
    evaluate = window.pages["evaluate"]
    evaluate.refresh_models()
    evaluate.show_result(outcome["evaluation"])
    deploy = window.pages["deploy"]
    deploy.refresh_lists()
    deploy.show_bundles(outcome["bundles"])
    deploy.add_station("127.0.0.1", 50051)
    inspect = window.pages["inspect"]
    inspect.refresh_bundles()
    inspect.folder_edit.setText(outcome["test_folder"])
    for result in outcome["inspection"]:
        inspect.show_result(result)
    window.statusBar().clearMessage()


def grab_pages(
    project_root: Path, outcome: dict, language: str, out_folder: Path, pages: tuple[str, ...] = PAGES
) -> None:
    """Open the project in ``language`` and save one screenshot per workflow page."""
    from app.gui.main_window import MainWindow

    app = QApplication.instance()
    translators = install_translators(app, language)
    window = MainWindow(studio_settings(), None)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.pages["project"].open_project(project_root)
    show_results(window, outcome)
    out_folder.mkdir(parents=True, exist_ok=True)
    for key in pages:
        window.show_page(key)
        for _ in range(10):
            QCoreApplication.processEvents()
        if key == "inspect" and outcome["inspection"]:
            window.pages["inspect"].show_result(outcome["inspection"][-1])
        path = out_folder / f"{key}-{language}.png"
        if not window.grab().save(str(path)):
            raise OSError(f"could not write the screenshot {path}; check that the folder is writable")
        print(f"wrote {path}")
    window.close()
    for translator in translators:
        app.removeTranslator(translator)


def main(argv: list[str] | None = None) -> int:
    """Write the workflow page screenshots into the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA if SHARED_DATA.is_dir() else SAMPLE_DATA,
                        help="MVTec-layout dataset folder (default: ../shared/data/magnetic_tile, else assets/sample)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots", help="output folder")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES),
                        help="pages to save (default: all workflow pages)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION_NAME)
    app.setApplicationName(APPLICATION_NAME)
    with tempfile.TemporaryDirectory(prefix="defectseek-screenshots-") as folder:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(folder) / "settings"))
        dataset = make_slice(args.data, Path(folder) / "data" / args.data.name)
        project_root = Path(folder) / "project"
        pages = tuple(args.pages)
        outcome = run_workflow(dataset, project_root, pages)
        for language in ("en", "zh_CN"):
            grab_pages(project_root, outcome, language, args.out, pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
