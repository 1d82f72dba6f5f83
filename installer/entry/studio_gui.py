"""Frozen entry point of ``defectseek-studio``."""

import multiprocessing
import sys

from app.gui.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
