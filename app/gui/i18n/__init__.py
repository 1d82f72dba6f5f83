"""Interface languages: translator loading and the CJK font check.

The studio ships ``defectseek_zh_CN.qm`` beside this file and loads Qt's own
``qtbase_zh_CN.qm`` from the PySide6 installation, so standard dialog buttons are
translated too.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFontDatabase

logger = logging.getLogger(__name__)

ENGLISH = "en"
SIMPLIFIED_CHINESE = "zh_CN"
SUPPORTED_LANGUAGES = (ENGLISH, SIMPLIFIED_CHINESE)
TRANSLATIONS_DIR = Path(__file__).resolve().parent
CATALOG_PREFIX = "defectseek_"
CJK_FONT_PACKAGES = ("fonts-noto-cjk", "fonts-wqy-microhei")


def resolve_language(requested: str | None, system_locale: QLocale | None = None) -> str:
    """Return the language to use: ``requested`` when given, else zh_CN for a Chinese system locale, else en.

    Raises:
        ValueError: ``requested`` is not a supported language; the message lists them.
    """
    if requested:
        if requested not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unsupported language {requested!r}; use one of: {', '.join(SUPPORTED_LANGUAGES)}")
        return requested
    locale = system_locale or QLocale.system()
    return SIMPLIFIED_CHINESE if locale.language() == QLocale.Language.Chinese else ENGLISH


def catalog_path(language: str) -> Path:
    """Return the compiled catalog (.qm) of ``language``."""
    return TRANSLATIONS_DIR / f"{CATALOG_PREFIX}{language}.qm"


def install_translators(app: QCoreApplication, language: str) -> list[QTranslator]:
    """Load the studio's and Qt's translations of ``language`` into ``app``.

    Returns:
        The installed translators; keep them alive as long as the application runs.
        English needs none and returns an empty list.
    """
    if language == ENGLISH:
        return []
    installed = []
    qt_translator = QTranslator(app)
    qt_folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt_translator.load(f"qtbase_{language}", qt_folder):
        app.installTranslator(qt_translator)
        installed.append(qt_translator)
    else:
        logger.warning(
            "Qt's own translation qtbase_%s was not found in %s; standard buttons stay in English.", language, qt_folder
        )
    studio_translator = QTranslator(app)
    path = catalog_path(language)
    if studio_translator.load(str(path)):
        app.installTranslator(studio_translator)
        installed.append(studio_translator)
    else:
        logger.warning("Translation catalog %s is missing or invalid; run pyside6-lrelease on the .ts file.", path)
    return installed


def cjk_font_families() -> list[str]:
    """Return the installed font families that can render Simplified Chinese."""
    return list(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))


def missing_cjk_font_message() -> str:
    """Return the log and status text for a machine without any Chinese font."""
    packages = " or ".join(CJK_FONT_PACKAGES)
    return (
        "No font for Simplified Chinese is installed, so Chinese text shows as boxes; "
        f"install one (Debian/Ubuntu: apt-get install {packages})."
    )
