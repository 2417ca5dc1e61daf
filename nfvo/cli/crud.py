"""The list / show / delete / update-description commands every NFVO resource shares, built
from one table row per resource (``Resource``) instead of written out per resource."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable

from nfvo.cli.client import call, show, show_list
from nfvo.cli.errors import CliError

Setup = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]
Commands = dict[str, tuple[str, Setup, Handler]]


def pb():
    from nfvo.api.v1 import nfvo_pb2

    return nfvo_pb2


def name_arg(p: argparse.ArgumentParser, what: str) -> None:
    """``NAME`` positional, or Tacker's ``--name NAME``."""
    p.add_argument("name", nargs="?", help=f"the {what}'s name or id")
    p.add_argument("--name", dest="name_opt", help=argparse.SUPPRESS)


def name_of(args: argparse.Namespace) -> str:
    name = args.name or getattr(args, "name_opt", None)
    if not name:
        raise CliError("a name is required (positional NAME or --name)")
    return name


@dataclass(frozen=True)
class Resource:
    """One NFVO resource as the CLI sees it: its RPCs (``Get{rpc}``, ``Delete{rpc}``,
    ``list_rpc``), the list reply's field, and the table columns of ``list``."""

    title: str                 # "VNF", "VNFFG", "NS"...
    rpc: str                   # "Vnf" -> GetVnf, DeleteVnf
    list_rpc: str              # "ListVnfs"
    plural: str                # the list reply's repeated field
    columns: tuple[str, ...]
    row: Callable[[dict[str, Any]], list[str]] | None = None
    kind: str = ""             # descriptors: VNFD | VNFFGD | NSD, sent with every request
    delete_progress: str = ""
    update_rpc: str = ""       # an Update{...} taking name (+kind) and optional description

    @property
    def noun(self) -> str:
        return self.title.lower()

    def lookup(self, p: argparse.ArgumentParser) -> None:
        name_arg(p, self.title)

    def get_request(self, args: argparse.Namespace) -> Any:
        request = pb().GetRequest(name=name_of(args))
        if self.kind:
            request.kind = self.kind
        return request


def crud_commands(r: Resource) -> Commands:
    """``list``, ``show``, ``delete`` (and ``update --description`` where the API has it)."""

    def list_(args: argparse.Namespace) -> int:
        reply = call(args, r.list_rpc, pb().ListRequest(kind=r.kind))
        show_list(args, getattr(reply, r.plural), f"{r.title}s", list(r.columns), r.row)
        return 0

    def show_(args: argparse.Namespace) -> int:
        show(args, call(args, f"Get{r.rpc}", r.get_request(args)), r.title)
        return 0

    def delete(args: argparse.Namespace) -> int:
        call(args, f"Delete{r.rpc}", r.get_request(args), progress=r.delete_progress)
        print(f"All specified {r.noun}(s) deleted successfully")
        return 0

    commands: Commands = {"list": (f"list {r.title}s", lambda p: None, list_),
                          "show": (f"show a {r.title}", r.lookup, show_),
                          "delete": (f"delete a {r.title}", r.lookup, delete)}
    if r.update_rpc:
        def update_setup(p: argparse.ArgumentParser) -> None:
            r.lookup(p)
            p.add_argument("--description", required=True)

        def update(args: argparse.Namespace) -> int:
            request = getattr(pb(), f"{r.update_rpc}Request")(name=name_of(args), description=args.description)
            if r.kind:
                request.kind = r.kind
            show(args, call(args, r.update_rpc, request), r.title, hide=("template",))
            return 0
        commands["update"] = (f"change a {r.title}'s description", update_setup, update)
    return commands
