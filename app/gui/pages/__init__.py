"""The page registry: the main window shows one entry per registered page, in ``order``.

To add a page, write a factory ``(PageContext) -> StudioPage`` and call
:func:`register_page` with a :class:`PageSpec`, for example in this module's
``_register_builtin_pages`` or in the new page's package before the window is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication

from app.gui.pages.base import PageContext, StudioPage


@dataclass(frozen=True)
class PageSpec:
    """A page the main window can show.

    Attributes:
        key: stable id (also the ``page`` of the actions the page owns).
        title: returns the translated title shown in the page list.
        factory: builds the page widget.
        order: position in the page list; lower comes first (Project 10, Label 20, then 30, 40...).
    """

    key: str
    title: Callable[[], str]
    factory: Callable[[PageContext], StudioPage]
    order: int


_PAGES: dict[str, PageSpec] = {}


def register_page(spec: PageSpec) -> None:
    """Add ``spec`` to the registry, replacing a page with the same key."""
    _PAGES[spec.key] = spec


def registered_pages() -> list[PageSpec]:
    """Return the registered pages sorted by ``order``."""
    _register_builtin_pages()
    return sorted(_PAGES.values(), key=lambda spec: spec.order)


def _project_page(context: PageContext) -> StudioPage:
    from app.gui.pages.project_page import ProjectPage

    return ProjectPage(context)


def _label_page(context: PageContext) -> StudioPage:
    from app.gui.pages.label_page import LabelPage

    return LabelPage(context)


def _register_builtin_pages() -> None:
    if "project" not in _PAGES:
        register_page(PageSpec("project", lambda: QCoreApplication.translate("Pages", "Project"), _project_page, 10))
    if "label" not in _PAGES:
        register_page(PageSpec("label", lambda: QCoreApplication.translate("Pages", "Label"), _label_page, 20))
    from app.gui.pages.workflow_registry import register_workflow_pages

    register_workflow_pages(_PAGES)


__all__ = ["PageContext", "PageSpec", "StudioPage", "register_page", "registered_pages"]
