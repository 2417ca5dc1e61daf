"""The image registry (Glance's role for one stack): rootfs tarballs uploaded, checked, unpacked
under the stack's state, listed, deleted; its rows beside the VNFs in the VNFM's store.

Layout: ``<root>/<id>/rootfs`` is an active image's root filesystem (the read-only lower layer
of its VDUs' containers). An import streams into ``<root>/.tmp-<id>/upload`` (sha256 and size
counted on the way), checks every member (``vnfm.imagetar``), unpacks into ``.tmp-<id>/rootfs``
and renames the directory into place; the row goes queued -> saving -> active. Any failure
removes the directory and the row, so a failed import leaves nothing; what a crash interrupted
is removed at the next start. Each change hands the active images to the subscribers (the stack
rebuilds the VNFM's pure ``ImageCatalog`` from them).

An image is deleted only while no VNF's VDU names it (by name or id, whatever the VNF's state):
it first leaves the catalog, so no new VNF can pick it while the VNFs are checked.
"""

from __future__ import annotations

import builtins
import gzip
import hashlib
import logging
import lzma
import os
import shutil
import tarfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

from vnfm.errors import AlreadyExists, InvalidRequest, InvalidState, NotFound
from vnfm.images import (DISK_FORMATS, ImageRecord, ImageStatus, builtin_records, check_image_name,
                         check_properties)
from vnfm.imagetar import check_members, check_rootfs, detect_format
from vnfm.protocols import ImageStore

log = logging.getLogger(__name__)
MAX_UPLOAD = 4 * 2**30     # bytes of the uploaded file
MAX_UNPACKED = 8 * 2**30   # bytes of the files it holds
_OPEN_MODE: dict[str, Literal["r:", "r:gz", "r:xz"]] = {"tar": "r:", "tar.gz": "r:gz", "tar.xz": "r:xz"}
_UNREADABLE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


class ImageRegistry:
    def __init__(self, store: ImageStore, root: Path, *,
                 now: Callable[[], float] = time.time, new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 max_upload: int = MAX_UPLOAD, max_unpacked: int = MAX_UNPACKED) -> None:
        self.store, self.root, self._now, self._new_id = store, Path(root).absolute(), now, new_id  # rootfs paths: absolute
        self.max_upload, self.max_unpacked = max_upload, max_unpacked
        self._lock = threading.Lock()
        self._subs: list[Callable[[Sequence[ImageRecord]], None]] = []
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._recover()

    def subscribe(self, on_change: Callable[[Sequence[ImageRecord]], None]) -> None:
        """``on_change(active images)`` now and after every change (the stack rebuilds the
        VNFM's catalog with ``ImageCatalog.with_registered``)."""
        with self._lock:
            self._subs.append(on_change)
            on_change(self.active())

    # -- queries ---------------------------------------------------------------------------------
    def active(self, without: str = "") -> builtins.list[ImageRecord]:
        """The registered images VDUs may use (``without``: but that one)."""
        return [r for r in self.store.images() if r.status == ImageStatus.ACTIVE and r.id != without]

    def list(self) -> list[ImageRecord]:
        """Built-in images first, then the registered ones by age."""
        return [*builtin_records(), *self.store.images()]

    def get(self, name_or_id: str) -> ImageRecord:
        found = next((r for r in self.list() if name_or_id in (r.name, r.id)), None)
        if found is None:
            raise NotFound(f"no image {name_or_id!r}")
        return found

    def users(self, rec: ImageRecord) -> builtins.list[str]:
        """The VNFs with a VDU that names the image (by name or id)."""
        return sorted({v.record.name for v in self.store.all() for vdu in v.spec.vdus if vdu.image in (rec.name, rec.id)})

    # -- create ----------------------------------------------------------------------------------
    def create(self, name: str, chunks: Iterable[bytes], properties: Mapping[str, str] | None = None,
               disk_format: str = "") -> ImageRecord:
        """Import a rootfs tarball sent as ``chunks``; the active record, or an error (nothing kept)."""
        check_image_name(name)
        props = check_properties(properties or {})
        if disk_format and disk_format not in DISK_FORMATS:
            raise InvalidRequest(f"image {name}: disk_format {disk_format!r} is not one of {', '.join(DISK_FORMATS)}")
        with self._lock:
            if any(r.name == name for r in self.store.images()):
                raise AlreadyExists(f"image {name!r} exists already")
            rec = ImageRecord(self._new_id(), name, ImageStatus.QUEUED, self._now(), disk_format=disk_format,
                              properties=props)
            self.store.put_image(rec, new=True)
        tmp, final = self.root / f".tmp-{rec.id}", self.root / rec.id
        try:
            tmp.mkdir(mode=0o700)
            rec = replace(rec, status=ImageStatus.SAVING)
            self.store.put_image(rec)
            size, checksum = self._receive(name, chunks, tmp / "upload")
            fmt = self._unpack(name, tmp / "upload", tmp / "rootfs", disk_format)
            (tmp / "upload").unlink()
            os.rename(tmp, final)
            rec = replace(rec, status=ImageStatus.ACTIVE, size=size, checksum=checksum, disk_format=fmt,
                          rootfs=str(final / "rootfs"))
            self.store.put_image(rec)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            _quietly(lambda: self.store.delete_image(rec.id))
            raise
        with self._lock:
            self._publish()
        log.info("image %s (%s) active: %d bytes, sha256 %s", name, rec.id, rec.size, rec.checksum)
        return rec

    def _receive(self, name: str, chunks: Iterable[bytes], path: Path) -> tuple[int, str]:
        digest, size = hashlib.sha256(), 0
        with open(path, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > self.max_upload:
                    raise InvalidRequest(f"image {name}: the file is larger than {self.max_upload} bytes")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidRequest(f"image {name}: the file is empty (expected a rootfs tar, tar.gz or tar.xz)")
        return size, digest.hexdigest()

    def _unpack(self, name: str, upload: Path, dest: Path, declared: str) -> str:
        with open(upload, "rb") as f:
            fmt = detect_format(f.read(262))
        if declared and declared != fmt:
            raise InvalidRequest(f"image {name}: disk_format {declared} given, but the file is "
                                 f"{'an uncompressed file' if fmt == 'tar' else fmt}")
        try:
            with tarfile.open(upload, _OPEN_MODE[fmt]) as tar:
                members = tar.getmembers()
                check_members(members, max_bytes=self.max_unpacked)
                check_rootfs(members)
                dest.mkdir(mode=0o755)
                # every member was vetted above; keep modes and owners (a rootfs has setuid
                # programs and root-owned files; the image directory is root's alone)
                tar.extractall(dest, members=members, numeric_owner=True, filter="fully_trusted")
        except InvalidRequest as exc:
            raise InvalidRequest(f"image {name}: {exc}") from None
        except _UNREADABLE as exc:
            raise InvalidRequest(f"image {name}: not a readable {fmt} archive (corrupt or truncated?): "
                                 f"{exc or type(exc).__name__}") from None
        return fmt

    # -- delete ----------------------------------------------------------------------------------
    def delete(self, name_or_id: str) -> ImageRecord:
        """Remove a registered image; refused for built-in ones, imports under way and images a
        VDU names."""
        with self._lock:
            rec = self.get(name_or_id)
            if rec.builtin:
                raise InvalidState(f"image {rec.name} is built in; it cannot be deleted")
            if rec.status != ImageStatus.ACTIVE:
                raise InvalidState(f"image {rec.name} is {rec.status}; delete it once it is active")
            self._publish(without=rec.id)  # no new VNF can pick it from here on
            try:
                users = self.users(rec)
                if users:
                    raise InvalidState(f"image {rec.name} is in use by VNF {', '.join(users)}; delete "
                                       f"{'it' if len(users) == 1 else 'them'} first")
                self.store.delete_image(rec.id)
            except BaseException:
                self._publish()
                raise
        self._remove_files(rec.id)
        return rec

    # -- internals -------------------------------------------------------------------------------
    def _publish(self, without: str = "") -> None:
        records = self.active(without)
        for on_change in self._subs:
            on_change(records)

    def _remove_files(self, image_id: str) -> None:
        """Out of the way at once (a rename), then removed."""
        src, trash = self.root / image_id, self.root / f".del-{image_id}"
        try:
            os.rename(src, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def _recover(self) -> None:
        """Imports a crash interrupted (rows not active, their files) and stray directories go."""
        keep = set()
        for rec in self.store.images():
            if rec.status == ImageStatus.ACTIVE and (self.root / rec.id / "rootfs").is_dir():
                keep.add(rec.id)
                continue
            log.warning("image %s (%s) killed: its import did not finish (%s)", rec.name, rec.id, rec.status)
            self.store.delete_image(rec.id)
        for entry in self.root.iterdir():
            if entry.name not in keep:
                log.warning("removing stray image directory %s", entry)
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - best-effort rollback; the original error is what matters
        log.exception("rollback step failed")
