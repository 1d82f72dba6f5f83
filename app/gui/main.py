"""The ``defectseek-studio`` entry point: parse options, set up logging and translations, show the window."""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.gui.i18n import SUPPORTED_LANGUAGES

logger = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line of ``defectseek-studio``."""
    parser = argparse.ArgumentParser(
        prog="defectseek-studio", description="DefectSeek Studio: label, train and inspect."
    )
    parser.add_argument(
        "--lang",
        choices=SUPPORTED_LANGUAGES,
        help="interface language (default: Simplified Chinese on a Chinese system locale, else English)",
    )
    parser.add_argument("--project", type=Path, help="project folder to open at start (default: the last one)")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the main window offscreen, decode PNG, JPEG and TIFF through Qt, and exit (0 = passed)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the studio; return the process exit code."""
    # A frozen (PyInstaller) studio starts its training workers by running itself again;
    # freeze_support turns such a start into the worker instead of a second window.
    multiprocessing.freeze_support()
    args = parse_args(argv)
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.gui.i18n import cjk_font_families, install_translators, missing_cjk_font_message, resolve_language
    from app.gui.logging_setup import configure_logging
    from app.gui.main_window import MainWindow
    from app.gui.settings import APPLICATION_NAME, KEY_LAST_PROJECT, ORGANIZATION_NAME, studio_settings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION_NAME)
    app.setApplicationName(APPLICATION_NAME)
    log_path = configure_logging()
    language = resolve_language(args.lang)
    translators = install_translators(app, language)
    logger.info("DefectSeek Studio starting, language %s, %d translators, log %s", language, len(translators), log_path)
    settings = studio_settings()
    window = MainWindow(settings, log_path)
    if language != "en" and not cjk_font_families():
        logger.warning("%s", missing_cjk_font_message())
        window.statusBar().showMessage(missing_cjk_font_message())
    window.errors.install_excepthook()
    if args.self_test:
        from app.gui.self_test import run_self_test

        return run_self_test(window)
    if args.project is not None:
        window.pages["project"].open_project(args.project)
    else:
        last = settings.value(KEY_LAST_PROJECT)
        if last and (Path(str(last)) / "project.json").is_file():
            window.pages["project"].open_project(Path(str(last)))
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
