"""Interface language: catalogs load, menus turn Chinese, and a Chinese font is installed."""

from __future__ import annotations

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
