"""The ``nfv`` command line: one argparse tree, one module per command group.

Each group module exposes ``register(subparsers)`` and sets ``func(args) -> int`` on its
parsers; ``main`` turns any ``CliError`` into a one-line reason and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

# We fork only to exec (namespaces, SFs): gRPC's fork handlers would abort such children.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
# os-ken and the ovs IDL import eventlet (which we keep off); its deprecation notice is noise.
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

from nfvo.cli.errors import CliError  # noqa: E402 - after the environment set-up above

GROUP_MODULES = ("nfvo.cli.descriptor", "nfvo.cli.sfc", "nfvo.cli.demo", "nfvo.cli.resources", "nfvo.cli.image",
                 "nfvo.cli.up", "nfvo.cli.telemetry", "nfvo.cli.alarm", "nfvo.cli.host")



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nfv", description="nfvchain: NFV orchestration and SDN service chaining")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in GROUP_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except CliError as exc:
        print(f"nfv: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
