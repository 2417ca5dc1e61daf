"""Checks on an image's tar members before anything is unpacked (pure: ``TarInfo`` values in,
``InvalidRequest`` naming the member out), and the archive format from its first bytes.

A member is refused if unpacking it could write outside the image's directory or create what a
root filesystem image has no business shipping: an absolute path or a ``..`` component; a
device node, FIFO or other special file (the container gets its own ``/dev``); a symbolic link
whose target leaves the root (absolute targets are read inside the root, as the container
sees them; relative ones from the link's directory); a member below a symbolic link of the
archive, or written over one (unpacking would follow it out of the image); a hard link to
anything but a regular file the archive has already unpacked. A root filesystem is an archive
with a shell: one of ``ROOTFS_MARKERS`` (a file or a link; busybox-based images have
``bin/busybox``, distributions ``bin/sh``, usr-merged ones ``usr/bin/sh``).
"""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import PurePosixPath

from vnfm.errors import InvalidRequest

ROOTFS_MARKERS = ("bin/sh", "bin/busybox", "usr/bin/sh", "usr/bin/busybox")
MAGIC = ((b"\x1f\x8b", "tar.gz"), (b"\xfd7zXZ\x00", "tar.xz"))
_KIND = {tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device", tarfile.FIFOTYPE: "a FIFO"}


def detect_format(head: bytes) -> str:
    """``tar.gz`` / ``tar.xz`` by their magic numbers, else ``tar`` (whether it is one, the
    tar reader decides)."""
    return next((fmt for magic, fmt in MAGIC if head.startswith(magic)), "tar")


def member_path(name: str) -> PurePosixPath:
    """The member's path relative to the root (``./bin/sh`` -> ``bin/sh``; ``.`` the root)."""
    if name.startswith("/"):
        raise InvalidRequest(f"member {name!r}: absolute path")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise InvalidRequest(f"member {name!r}: '..' in its path")
    return path


def _inside(link: PurePosixPath, target: str) -> bool:
    """Whether symlink ``link -> target`` resolves (lexically) within the root."""
    parts: list[str] = [] if target.startswith("/") else list(link.parent.parts)
    for part in PurePosixPath(target).parts:
        if part in ("/", "."):
            continue
        if part == "..":
            if not parts:
                return False
            parts.pop()
        else:
            parts.append(part)
    return True


def check_members(members: Sequence[tarfile.TarInfo], *, max_bytes: int) -> None:
    """InvalidRequest for the first member that is unsafe to unpack (see the module docstring),
    or if the files add up to more than ``max_bytes``."""
    symlinks = {member_path(m.name) for m in members if m.issym()}
    seen: dict[PurePosixPath, tarfile.TarInfo] = {}  # path -> the member that made it, so far
    total = 0
    for m in members:
        path = member_path(m.name)
        if not (m.isreg() or m.isdir() or m.issym() or m.islnk()):
            raise InvalidRequest(f"member {m.name!r}: {_KIND.get(m.type, f'an unsupported member (type {m.type!r})')}"
                                 " (not allowed in an image)")
        if path == PurePosixPath(".") and not m.isdir():
            raise InvalidRequest(f"member {m.name!r}: the root must be a directory")
        through = next((p for p in path.parents if p in symlinks), None)
        if through is not None:
            raise InvalidRequest(f"member {m.name!r}: below the symbolic link {str(through)!r} of the archive")
        if path in seen and seen[path].issym():
            raise InvalidRequest(f"member {m.name!r}: written over the symbolic link of the same name")
        if m.issym() and not _inside(path, m.linkname):
            raise InvalidRequest(f"member {m.name!r}: symbolic link to {m.linkname!r} leaves the image's root")
        if m.islnk():
            if m.linkname.startswith("/") or ".." in PurePosixPath(m.linkname).parts:
                raise InvalidRequest(f"member {m.name!r}: hard link to {m.linkname!r} outside the image")
            target = seen.get(PurePosixPath(m.linkname))
            if target is None or not target.isreg():
                raise InvalidRequest(f"member {m.name!r}: hard link to {m.linkname!r}, which is not a "
                                     "regular file earlier in the archive")
        seen[path] = m
        total += m.size if m.isreg() else 0
        if total > max_bytes:
            raise InvalidRequest(f"the image unpacks to more than {max_bytes} bytes (at member {m.name!r})")


def check_rootfs(members: Sequence[tarfile.TarInfo]) -> None:
    """InvalidRequest unless the archive holds a shell (``ROOTFS_MARKERS``)."""
    paths = {str(member_path(m.name)) for m in members if m.isreg() or m.issym() or m.islnk()}
    if not paths.intersection(ROOTFS_MARKERS):
        raise InvalidRequest(f"not a root filesystem: the archive has none of {', '.join(ROOTFS_MARKERS)} "
                             f"({len(members)} members)")
