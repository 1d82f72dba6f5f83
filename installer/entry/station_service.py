"""Frozen entry point of ``defectseek-station``."""

import multiprocessing
import sys

from app.station.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
