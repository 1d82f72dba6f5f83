"""Registry entries of the workflow pages: Train 30, Evaluate 40, Deploy 50, Inspect 60."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication

from app.gui.pages.base import PageContext, StudioPage


def _train_page(context: PageContext) -> StudioPage:
    from app.gui.pages.train_page import TrainPage

    return TrainPage(context)


def _evaluate_page(context: PageContext) -> StudioPage:
    from app.gui.pages.evaluate_page import EvaluatePage

    return EvaluatePage(context)


def _deploy_page(context: PageContext) -> StudioPage:
    from app.gui.pages.deploy_page import DeployPage

    return DeployPage(context)


def _inspect_page(context: PageContext) -> StudioPage:
    from app.gui.pages.inspect_page import InspectPage

    return InspectPage(context)


def register_workflow_pages(registered: Mapping[str, object]) -> None:
    """Register the workflow pages whose keys are not in ``registered`` yet (a test may have replaced one)."""
    from app.gui.pages import PageSpec, register_page

    translate = QCoreApplication.translate
    specs = (
        PageSpec("train", lambda: translate("Pages", "Train"), _train_page, 30),
        PageSpec("evaluate", lambda: translate("Pages", "Evaluate"), _evaluate_page, 40),
        PageSpec("deploy", lambda: translate("Pages", "Deploy"), _deploy_page, 50),
        PageSpec("inspect", lambda: translate("Pages", "Inspect"), _inspect_page, 60),
    )
    for spec in specs:
        if spec.key not in registered:
            register_page(spec)
