"""``defectseek-station``: run the line station headless from a config file until SIGTERM or Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from app.station.config import ConfigError, load_config

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_START = 3


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(prog="defectseek-station", description=__doc__)
    parser.add_argument("--config", required=True, help="station config file (.toml or .json)")
    parser.add_argument("--check", action="store_true", help="validate the config and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the station; returns 0 after a clean stop, 2 for config errors, 3 when it cannot start."""
    arguments = build_parser().parse_args(argv)
    try:
        config = load_config(arguments.config)
    except ConfigError as error:
        print(f"defectseek-station: {error}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=config.station["log_level"].upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if arguments.check:
        print(f"{arguments.config}: valid ({len(config.cameras)} camera(s), PLC {config.plc['protocol']})")
        return EXIT_OK

    from app.station.station import Station

    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda number, frame: stop_requested.set())
    try:
        station = Station(config)
        station.start()
    except (OSError, RuntimeError, ValueError) as error:
        logger.error("Station could not start: %s", error)
        return EXIT_START
    logger.info("Running; send SIGTERM or press Ctrl+C to stop")
    while not stop_requested.wait(1.0):
        pass
    logger.info("Stop requested")
    station.stop()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
