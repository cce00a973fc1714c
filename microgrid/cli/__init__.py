"""The `microgrid` command line: one module per subcommand, each exposing ``register``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from microgrid.errors import MicrogridError

#: Subcommand modules in microgrid/cli/, in the order `microgrid --help` lists them.
COMMANDS = ["check_config", "simulate_camp", "dashboards", "report", "plan", "forecast", "poll", "backtest", "study",
            "run", "demo", "view", "alarms"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microgrid",
        description="Monitoring and diesel-minimising dispatch for a camp microgrid.")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"microgrid.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.verbose < 2:  # pymodbus logs a frame dump at ERROR on every timeout; our own
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # messages name the device
    try:
        return int(args.func(args) or 0)
    except MicrogridError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
