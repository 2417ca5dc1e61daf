"""``nfv image create|list|show|delete``: root filesystem images (Glance's role), as a gRPC client.

``create`` streams the file in chunks well under gRPC's 4 MB message limit; the server checks
and unpacks it, so what the CLI checks is only what it can know better (the file is readable).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nfvo.cli.client import call, common_options, show
from nfvo.cli.crud import Resource, crud_commands, name_arg, name_of, pb
from nfvo.cli.errors import CliError

CHUNK = 1 << 20


def _size(n: Any) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def _row(i: dict[str, Any]) -> list[str]:
    size = int(i["size"])  # a uint64: a JSON string
    return [i["name"], i["id"] if not i["builtin"] else "(built in)", i["status"], i["disk_format"] or "-",
            _size(size) if size else "-", ", ".join(f"{k}={v}" for k, v in sorted(i.get("properties", {}).items())
                                                    if k != "command")]


IMAGE = Resource("Image", "Image", "ListImages", "images", ("name", "id", "status", "format", "size", "properties"),
                 _row)


def _property(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value


def _requests(path: Path, metadata: Any) -> Iterator[Any]:
    yield pb().CreateImageRequest(metadata=metadata)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield pb().CreateImageRequest(chunk=chunk)


def _create_setup(p: argparse.ArgumentParser) -> None:
    name_arg(p, "image")
    p.add_argument("--file", required=True, metavar="ROOTFS.tar[.gz|.xz]", help="a root filesystem tarball")
    p.add_argument("--property", action="append", type=_property, default=[], metavar="KEY=VALUE",
                   help="nsh_aware=true|false, command=PROGRAM ARGS ({iface}, {workdir}...), ready=PREFIX, "
                        "or any other (kept verbatim); repeatable")
    p.add_argument("--disk-format", choices=("tar", "tar.gz", "tar.xz"), default="",
                   help="checked against the file's content (default: taken from it)")


def _create(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"image file {args.file}: {'not a regular file' if path.exists() else 'no such file'}")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise CliError(f"image file {args.file}: {exc.strerror or exc}") from None
    props: dict[str, str] = {}
    for key, value in args.property:
        if key in props:
            raise CliError(f"--property {key} given twice")
        props[key] = value
    metadata = pb().ImageMetadata(name=name_of(args), properties=props, disk_format=args.disk_format)
    record = call(args, "CreateImage", _requests(path, metadata), progress=f"uploading {path.name}...",
                  subject=f"image {args.file}")
    show(args, record, "Image")
    return 0


def register(subparsers) -> None:
    parent = common_options()
    group = subparsers.add_parser("image", help="root filesystem images VDUs boot (Glance's role)")
    sub = group.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    commands = {"create": ("upload a root filesystem tarball as an image", _create_setup, _create),
                **crud_commands(IMAGE)}
    for action, (help_text, setup, handler) in commands.items():
        p = sub.add_parser(action, help=help_text, parents=[parent])
        setup(p)
        p.set_defaults(func=handler)
