"""``defectseek-station``: run the line station headless from a config file until SIGTERM or Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from app.station.config import ConfigError, load_config

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_START = 3


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(prog="defectseek-station", description=__doc__)
    parser.add_argument("--config", help="station config file (.toml or .json); required to run or --check")
    parser.add_argument("--check", action="store_true", help="validate the config and exit")
    parser.add_argument("--make-opcua-certificate", metavar="DIR",
                        help="write a self-signed OPC UA server certificate (opcua-server.der) and its private key "
                             "(opcua-server-key.pem) into DIR and exit; works offline")
    parser.add_argument("--hostname", action="append", metavar="NAME",
                        help="host name or IP address the PLC uses to reach the station, put into the certificate; "
                             "repeat for several (default: this computer's host name)")
    return parser


def make_opcua_certificate(folder: str, hostnames: list[str] | None) -> int:
    """Write a self-signed OPC UA certificate pair and print the config lines that use it."""
    from app.station.signals.opcua_security import write_server_certificate

    try:
        certificate, key = write_server_certificate(Path(folder), hostnames)
    except (FileExistsError, OSError) as error:
        print(f"defectseek-station: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Wrote {certificate} and {key} (readable by its owner only). Add to [plc]:")
    print(f'opcua_certificate = "{certificate.resolve()}"')
    print(f'opcua_private_key = "{key.resolve()}"')
    print("Give the PLC the certificate file so that it trusts the station.")
    return EXIT_OK


# Protocol libraries that log every node and request at INFO: thousands of lines per start.
CHATTY_LOGGERS = ("asyncua", "pymodbus")


def quiet_protocol_libraries(level: str) -> None:
    """Keep the protocol libraries at WARNING unless the station logs at DEBUG."""
    if level.upper() != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the station (or write a certificate); returns 0 on success, 2 for config errors, 3 when it cannot start."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.make_opcua_certificate:
        return make_opcua_certificate(arguments.make_opcua_certificate, arguments.hostname)
    if not arguments.config:
        parser.error("--config is required (or use --make-opcua-certificate DIR)")
    try:
        config = load_config(arguments.config)
    except ConfigError as error:
        print(f"defectseek-station: {error}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=config.station["log_level"].upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_protocol_libraries(config.station["log_level"])
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
