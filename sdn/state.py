"""The controller's state file: the applied document and its generation, as a typed message,
plus what a restart would otherwise spend seconds re-deriving.

Written atomically (temporary file, then rename) after every applied generation; read once at
start-up, so a restarted controller converges on what it last applied instead of flushing.

Layout (version 2)::

    b"NFVSFCST" | u32 version | sha256(document section) | u32 length | document section
                | sha256(cache section) | cache section

The document section is the ``PersistedState`` protobuf (generation + document), the authority:
read the slow way (parsed, then ``check_document``) it gives the controller's state on any code
version. A checksum that does not match it means a damaged file: refused, as a file that does
not parse. The cache section (``sdn.statecodec`` tuples in ``marshal``) holds the same document
checked, with its classifiers' compiled matches, and each switch's rendered flows with the ports
they were rendered on. It is used only when its checksum matches, it names the same generation,
and it was written by this very code (``code_fingerprint``: the sources that check and render,
the Python version); anything else, or anything in it that does not decode, and the document is
read and checked the slow way (a version 1 file, the bare protobuf, too). So the fast path never
trusts what this code did not write, and gives exactly what the slow path would.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import struct
import sys
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from google.protobuf.message import DecodeError

from sdn.api.convert import document_message, document_value, path_message
from sdn.api.v1 import sfc_pb2 as pb
from sdn.document import DocumentError, ServicePath, SfcDocument, check_document
from sdn.gcpause import gc_paused
from sdn.openflow import SwitchState
from sdn.render import Owned
from sdn.statecodec import CodecError, StateDecoder, decode_document, encode_document, encode_path, encode_state

log = logging.getLogger(__name__)

MAGIC = b"NFVSFCST"
VERSION = 2
_HEAD = struct.Struct("!8sI32sI")  # magic, version, sha256 of the document section, its length
_SOURCES = ("sdn", "descriptors", "dataplane/nsh.py")  # what checks and renders (the whole packages: safe side)


@dataclass(frozen=True)
class SavedRender:
    """One switch's flows (by owner) as derived from the saved document on ``ports``."""

    ports: Mapping[str, int]
    owned: Owned


@dataclass(frozen=True)
class Saved:
    document: SfcDocument
    generation: int
    renders: Mapping[int, SavedRender] = field(default_factory=dict)  # dpid ->
    fast: bool = False  # read from the cache section (no re-check); False: parsed and checked


class StateWriter:
    """Encodes what ``save_state`` writes, remembering each path's and each part's encoding by
    identity (documents and renders share unchanged values across generations), so saving after
    a one-path change encodes one path, not ten thousand. One per controller."""

    def __init__(self) -> None:
        self._paths: dict[int, tuple[ServicePath, tuple]] = {}
        self._protos: dict[int, tuple[ServicePath, bytes]] = {}
        self._parts: dict[int, tuple[SwitchState, bytes]] = {}

    def document_section(self, doc: SfcDocument, generation: int) -> bytes:
        """``PersistedState(generation, document_message(doc))`` serialised, each path's message
        remembered: a repeated field is its elements' encodings one after another (the paths go
        after the other fields, which any protobuf parser reads alike)."""
        protos: dict[int, tuple[ServicePath, bytes]] = {}
        chunks = [document_message(replace(doc, paths=())).SerializeToString()]
        for p in doc.paths:
            hit = self._protos.get(id(p))
            if hit is None or hit[0] is not p:
                raw = path_message(p).SerializeToString()
                hit = (p, _PATHS_TAG + _varint(len(raw)) + raw)
            protos[id(p)] = hit
            chunks.append(hit[1])
        self._protos = protos
        document = b"".join(chunks)
        return pb.PersistedState(generation=generation).SerializeToString() + _DOCUMENT_TAG + _varint(len(document)) \
            + document

    def cache_section(self, doc: SfcDocument, generation: int, renders: Mapping[int, SavedRender]) -> bytes:
        paths: dict[int, tuple[ServicePath, tuple]] = {}
        parts: dict[int, tuple[SwitchState, bytes]] = {}

        def path(p: ServicePath) -> tuple:
            hit = self._paths.get(id(p))
            enc = hit[1] if hit is not None and hit[0] is p else encode_path(p)
            paths[id(p)] = (p, enc)
            return enc

        def part(s: SwitchState) -> bytes:
            hit = self._parts.get(id(s))
            blob = hit[1] if hit is not None and hit[0] is s else marshal.dumps(encode_state(s))
            parts[id(s)] = (s, blob)
            return blob

        body = (code_fingerprint(), generation, encode_document(doc, path),
                tuple((dpid, tuple(sorted(r.ports.items())), tuple((o, part(s)) for o, s in sorted(r.owned.items())))
                      for dpid, r in sorted(renders.items())))
        self._paths, self._parts = paths, parts  # only what this document and these renders hold
        return marshal.dumps(body)


_DOCUMENT_TAG = bytes([2 << 3 | 2])  # PersistedState.document: field 2, length-delimited
_PATHS_TAG = bytes([3 << 3 | 2])  # Document.service_function_paths: field 3, length-delimited


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the code whose results the cache section holds: the sources of ``sdn``,
    ``descriptors`` and ``dataplane.nsh`` and the Python version. Any change: the slow path."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"{VERSION} {sys.version} {marshal.version}".encode())
    files = [f for top in _SOURCES for f in ([root / top] if (root / top).is_file() else sorted((root / top).rglob("*.py")))]
    if not any(f.name == "render.py" for f in files):  # installed without sources: nothing to tell versions by
        return f"unknown code (process {os.getpid()}, {time.time_ns()})"  # matches no file: always the slow path
    for f in files:
        digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


def load_state(path: Path | None) -> tuple[SfcDocument, int]:
    """The last applied document and generation; an empty document if there is no file."""
    saved = load_saved(path)
    return saved.document, saved.generation


def load_saved(path: Path | None) -> Saved:
    """The last applied document, generation and the renders saved with them (see the module
    docstring for when the cache section is used); an empty document if there is no file."""
    if path is None or not path.exists():
        return Saved(SfcDocument(), 0)
    data = path.read_bytes()
    with gc_paused():
        if not data.startswith(MAGIC):  # version 1: the bare protobuf
            return _slow(path, data)
        if len(data) < _HEAD.size:
            raise _unreadable(path, "truncated header")
        _, version, digest, length = _HEAD.unpack_from(data)
        proto = data[_HEAD.size:_HEAD.size + length]
        if len(proto) != length or hashlib.sha256(proto).digest() != digest:
            raise _unreadable(path, "the document section does not match its checksum")
        rest = data[_HEAD.size + length:]
        if version == VERSION:
            saved = _fast(path, proto, rest)
            if saved is not None:
                return saved
        else:
            log.info("%s: state file version %d (this controller writes %d): checking it whole", path, version, VERSION)
        return _slow(path, proto)


def _fast(path: Path, proto: bytes, rest: bytes) -> Saved | None:
    """The cache section's document and renders, or None (logged why) to take the slow path."""
    if not rest:
        log.info("%s: no cache section: checking the document whole", path)
        return None
    if len(rest) < 32 or hashlib.sha256(rest[32:]).digest() != rest[:32]:
        log.warning("%s: cache section damaged: checking the document whole", path)
        return None
    try:
        fingerprint, generation, doc, renders = marshal.loads(rest[32:])
        if fingerprint != code_fingerprint():
            log.info("%s: written by other code: checking the document whole", path)
            return None
        state = pb.PersistedState()
        state.ParseFromString(proto)
        if generation != state.generation:
            raise CodecError(f"generation {generation}, the document section's is {state.generation}")
        decoder = StateDecoder()
        return Saved(decode_document(doc), generation,
                     {dpid: SavedRender(dict(ports), {o: decoder.state(marshal.loads(b)) for o, b in parts})
                      for dpid, ports, parts in renders}, fast=True)
    except (CodecError, DecodeError, ValueError, TypeError, IndexError, KeyError, EOFError) as exc:
        log.warning("%s: cache section unreadable (%s): checking the document whole", path, exc)
        return None


def _slow(path: Path, proto: bytes) -> Saved:
    state = pb.PersistedState()
    try:
        state.ParseFromString(proto)
        return Saved(check_document(document_value(state.document)), state.generation)
    except (DecodeError, DocumentError) as exc:
        raise _unreadable(path, str(exc)) from None


def _unreadable(path: Path, why: str) -> DocumentError:
    return DocumentError(str(path), f"not a controller state file ({why}); move it away to start empty")


def save_state(path: Path | None, doc: SfcDocument, generation: int,
               renders: Mapping[int, SavedRender] | None = None, writer: StateWriter | None = None) -> None:
    """Write ``doc`` (checked) and ``generation``, with ``renders`` (dpid -> the flows derived
    from ``doc`` on those ports) for the next start's fast path. A cache section that cannot be
    encoded is left out (the next start checks the document whole), never half written."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = writer or StateWriter()
    with gc_paused():
        proto = writer.document_section(doc, generation)
        try:
            cache = writer.cache_section(doc, generation, renders or {})
        except (ValueError, TypeError) as exc:  # a value marshal cannot hold
            log.warning("%s: state saved without its cache section (%s): the next start checks it whole", path, exc)
            cache = b""
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as f:
            f.write(_HEAD.pack(MAGIC, VERSION, hashlib.sha256(proto).digest(), len(proto)))
            f.write(proto)
            if cache:
                f.write(hashlib.sha256(cache).digest())
                f.write(cache)
    os.replace(tmp, path)
