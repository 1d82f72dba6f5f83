"""Interface language: catalogs load, menus turn Chinese, and a Chinese font is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtGui import QFont, QFontMetrics

from app.gui.i18n import (
    CJK_FONT_PACKAGES,
    ENGLISH,
    SIMPLIFIED_CHINESE,
    catalog_path,
    cjk_font_families,
    install_translators,
    resolve_language,
)

pytestmark = pytest.mark.gui

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def chinese(qapp):
    translators = install_translators(qapp, SIMPLIFIED_CHINESE)
    yield translators
    for translator in translators:
        qapp.removeTranslator(translator)


def test_catalog_compiled_beside_source():
    assert catalog_path(SIMPLIFIED_CHINESE).is_file()
    assert catalog_path(SIMPLIFIED_CHINESE).with_suffix(".ts").is_file()


def test_install_loads_studio_and_qt_catalogs(chinese):
    assert len(chinese) == 2
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "取消"


def test_menu_titles_chinese_under_zh_cn(chinese, make_window):
    window = make_window()
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles[0] == "文件(&F)"
    assert "标注(&L)" in titles
    assert window.actions["save"].text() == "保存(&S)"
    assert window.actions["save"].shortcut().toString() == "Ctrl+S"


def test_menu_titles_english_by_default(make_window):
    window = make_window()
    assert window.menuBar().actions()[0].text() == "&File"


def test_resolve_language_rules():
    assert resolve_language("en") == ENGLISH
    assert resolve_language("zh_CN") == SIMPLIFIED_CHINESE
    assert resolve_language(None, QLocale(QLocale.Language.Chinese, QLocale.Country.China)) == SIMPLIFIED_CHINESE
    assert resolve_language(None, QLocale(QLocale.Language.German, QLocale.Country.Germany)) == ENGLISH
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        resolve_language("fr")


def test_install_english_needs_no_catalog(qapp):
    assert install_translators(qapp, ENGLISH) == []


def test_cjk_font_installed(qapp):
    families = cjk_font_families()
    if not families:
        pytest.skip(
            f"no Simplified Chinese font installed; install the Debian package {' or '.join(CJK_FONT_PACKAGES)}"
        )
    metrics = QFontMetrics(QFont(families[0]))
    assert metrics.inFontUcs4(ord("标"))
    assert metrics.inFontUcs4(ord("注"))


def _messages(ts_path: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(ts_path).getroot()
    return {
        (context.findtext("name"), message.findtext("source")): message.find("translation")
        for context in root.iter("context")
        for message in context.iter("message")
    }


def test_catalog_translates_every_message():
    messages = _messages(catalog_path(SIMPLIFIED_CHINESE).with_suffix(".ts"))
    untranslated = [key for key, translation in messages.items() if translation.get("type") or not translation.text]
    assert untranslated == []


def test_catalog_matches_source_strings(tmp_path):
    lupdate = shutil.which("pyside6-lupdate") or str(Path(sys.executable).with_name("pyside6-lupdate"))
    if not Path(lupdate).exists():
        pytest.skip("pyside6-lupdate not found; it ships with PySide6-Essentials")
    sources = sorted(str(path) for path in (REPO_ROOT / "app" / "gui").rglob("*.py"))
    fresh = tmp_path / "fresh.ts"
    subprocess.run([lupdate, *sources, "-ts", str(fresh)], check=True, capture_output=True, timeout=120)
    committed = _messages(catalog_path(SIMPLIFIED_CHINESE).with_suffix(".ts"))
    assert set(_messages(fresh)) == set(committed)
