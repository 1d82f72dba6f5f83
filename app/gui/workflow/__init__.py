"""Qt-free state and worker code behind the studio's Train, Evaluate, Deploy and Inspect pages.

Nothing in this package imports PySide6, so the workflow runs and tests headless;
the pages in :mod:`app.gui.pages` only show this state and send commands to it.
"""
