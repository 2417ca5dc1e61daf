"""The controller's state file: the applied document and its generation, as a typed message.

Written atomically (temporary file, then rename) after every applied generation; read once at
start-up, so a restarted controller converges on what it last applied instead of flushing.
"""

from __future__ import annotations

import os
from pathlib import Path

from google.protobuf.message import DecodeError

from sdn.api.convert import document_message, document_value
from sdn.api.v1 import sfc_pb2 as pb
from sdn.document import DocumentError, SfcDocument, check_document


def load_state(path: Path | None) -> tuple[SfcDocument, int]:
    """The last applied document and generation; an empty document if there is no file."""
    if path is None or not path.exists():
        return SfcDocument(), 0
    state = pb.PersistedState()
    try:
        state.ParseFromString(path.read_bytes())
        return check_document(document_value(state.document)), state.generation
    except (DecodeError, DocumentError) as exc:
        raise DocumentError(str(path), f"not a controller state file ({exc}); move it away to start empty") from None


def save_state(path: Path | None, doc: SfcDocument, generation: int) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(pb.PersistedState(generation=generation, document=document_message(doc)).SerializeToString())
    os.replace(tmp, path)
