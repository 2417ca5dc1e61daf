"""Small host I/O the local VIM's parts share: state files written atomically (a crash leaves the
old file or the new one, never half of one) and read forgivingly. (Sockets made inside a
namespace: ``dataplane.netns.socket_in``.)"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, doc: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(doc))


def read_text(path: Path) -> str:
    """The file's text, or "" when it is missing or unreadable."""
    try:
        return path.read_text()
    except OSError:
        return ""


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or {} when it is missing, unreadable or not JSON."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return {}
