"""Frozen entry point of the line runtime's one program, ``inspect``.

The runtime folder links ``defectseek-station`` to ``inspect`` on Linux, so both commands
share one executable and one archive of Python modules. The program chooses what to run
by the name it was started under (``sys.argv[0]``).
"""

import multiprocessing
import os
import sys

STATION_PROGRAM_NAME = "defectseek-station"


def main() -> int:
    """Run the station when started as ``defectseek-station``, else the ``inspect`` command."""
    program_name = os.path.basename(sys.argv[0])
    if program_name.removesuffix(".exe") == STATION_PROGRAM_NAME:
        from app.station.main import main as station_main

        return station_main()
    from app.cli.main import main as inspect_main

    return inspect_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
