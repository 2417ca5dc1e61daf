"""What every NFVO command shares: the server address, calling with a progress display,
turning gRPC errors into one line, and printing records as a table, JSON or YAML."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import grpc
import yaml

from nfvo.allinone import DEFAULT_STATE_DIR
from nfvo.cli.errors import CliError

DEFAULT_ADDRESS = "127.0.0.1:50071"
# One stack per state directory (``nfv up --state-dir``); commands reach the one $NFV_STATE_DIR names.
STATE_DIR = Path(os.environ.get("NFV_STATE_DIR", str(DEFAULT_STATE_DIR)))
STATE_FILE = STATE_DIR / "stack.json"


def stack_address(env: str, key: str, default: str) -> str:
    """``$env``, else the address the running ``nfv up`` stack recorded under ``key``, else ``default``."""
    if os.environ.get(env):
        return os.environ[env]
    try:
        return json.loads(STATE_FILE.read_text())[key]
    except (OSError, ValueError, KeyError):
        return default


def default_address() -> str:
    """The NFVO: $NFV_NFVO_ADDRESS, else the running stack's, else the default port."""
    return stack_address("NFV_NFVO_ADDRESS", "nfvo", DEFAULT_ADDRESS)


def common_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--nfvo", default=None, metavar="HOST:PORT",
                        help="the NFVO's gRPC address (env NFV_NFVO_ADDRESS; default: the running stack)")
    parent.add_argument("-f", "--format", choices=("table", "json", "yaml"), default="table")
    parent.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the server")
    return parent


def stub(args: argparse.Namespace):
    from nfvo.api.server import connect

    args.nfvo = args.nfvo or default_address()
    return connect(args.nfvo)


def call(args: argparse.Namespace, method: str, request: Any, progress: str = "", subject: str = "") -> Any:
    """One RPC; with ``progress`` a spinner runs while the server works (e.g. until ACTIVE).
    ``subject`` names what the request carries (a template file) when it is too large."""
    fn = getattr(stub(args), method)
    try:
        if progress and args.format == "table" and os.isatty(1):
            from rich.console import Console

            with Console().status(progress):
                return fn(request, timeout=args.timeout)
        return fn(request, timeout=args.timeout)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE and "NFVO" not in (exc.details() or "") \
                and "controller" not in (exc.details() or ""):
            raise CliError(f"the NFVO at {args.nfvo} is not reachable (is `nfv up` running?)") from None
        if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            details = (exc.details() or "").removeprefix("CLIENT: ")
            raise CliError(f"{subject or method}: the request is too large for the NFVO ({details}) "
                           "(RESOURCE_EXHAUSTED)") from None
        from nfvo.api.errors import error_from_rpc

        error = error_from_rpc(exc)
        raise CliError(f"{error} ({exc.code().name})", error.field) from None


def to_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(_cell(v) if not isinstance(v, dict) else json.dumps(v, sort_keys=True) for v in value)
    return str(value)


def show(args: argparse.Namespace, message: Any, title: str, hide: Sequence[str] = ()) -> None:
    data = to_dict(message)
    if args.format != "table":
        _dump(args, data)
        return
    from nfvo.cli.output import print_table

    print_table(title, ["Field", "Value"], [[k, _cell(v)] for k, v in data.items() if k not in hide])


def show_list(args: argparse.Namespace, messages: Sequence[Any], title: str, columns: Sequence[str],
              cells: Callable[[dict[str, Any]], list[str]] | None = None) -> None:
    rows = [to_dict(m) for m in messages]
    if args.format != "table":
        _dump(args, rows)
        return
    from nfvo.cli.output import print_table

    print_table(title, list(columns), [cells(r) if cells else [_cell(r.get(c, "")) for c in columns] for r in rows])


def _dump(args: argparse.Namespace, data: Any) -> None:
    print(json.dumps(data, indent=2) if args.format == "json" else yaml.safe_dump(data, sort_keys=False), end=
          "\n" if args.format == "json" else "")


def read_file(path: str, what: str) -> str:
    try:
        return Path("/dev/stdin").read_text() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{what} {path}: {getattr(exc, 'strerror', None) or exc}") from None


def parse_bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def parse_mapping(text: str) -> dict[str, str]:
    """Tacker's ``VNFD1:VNF1,VNFD2:VNF2`` (quotes around names tolerated)."""
    out = {}
    for item in (t.strip() for t in text.split(",") if t.strip()):
        key, sep, value = item.partition(":")
        if not sep or not key.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{item!r} is not VNFD:VNF")
        out[key.strip().strip("'\"")] = value.strip().strip("'\"")
    return out
