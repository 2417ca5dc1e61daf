"""The local image catalog and flavor table: what a VDU's ``image``/``flavor`` mean on this host.

An image is a root filesystem (``Image.rootfs``) plus, optionally, a program (argv template,
never run through a shell). Built in: ``host`` (the host's root, read-only, no program),
``cirros`` (a CirrOS-like busybox rootfs the VIM builds itself) and the reference SFs
``nsh-forwarder``, ``nsh-firewall``, ``nsh-counter`` (host rootfs, NSH-aware). Operators register
more with ``nfv image create`` (``vnfm.imagestore``); their rows become ``ImageRecord`` values and
``ImageCatalog.with_registered`` turns them into images, so resolution stays a pure lookup.

Resolution order: registered images (by name or id), programs added with ``with_image``, the
built-ins, ``exec:PROG ARG...`` (any program, on the ``host`` rootfs), then Tacker's cloud
image names: a name (or URL's last part) starting with one of ``CLOUD_IMAGE_PREFIXES``
(``cirros-0.5.2-x86_64-disk``, ``ubuntu-22.04``, ``centos``, ``fedora``, ``debian``,
``openwrt``...) resolves to ``cirros``, a small Linux userland that boots and answers ping. A
registered image may take such a name to stand in for it. Anything else is an error that lists
the known images.

Registered images' properties that mean something: ``nsh_aware=true|false`` (default false),
``command=...`` (shlex-split; placeholders ``PLACEHOLDERS``, filled by ``render_argv``) and
``ready=PREFIX`` (a stdout line prefix meaning "serving"); others are kept verbatim.
"""

from __future__ import annotations

import re
import shlex
import string
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from vnfm.errors import InvalidRequest

CLOUD_IMAGE_DEFAULT = "cirros"
CLOUD_IMAGE_PREFIXES = ("cirros", "ubuntu", "centos", "fedora", "debian", "openwrt", "rhel",
                        "cloud", "vyos", "vnf")
PLACEHOLDERS = ("iface", "mgmt_iface", "python", "workdir", "volume")
_SF = ("{python}", "-m", "dataplane.sf")


HOST_ROOTFS = "host"      # Image.rootfs: a read-only view of the host's root filesystem
CIRROS_ROOTFS = "cirros"  # Image.rootfs: the built-in CirrOS-like busybox rootfs (the VIM builds it)


@dataclass(frozen=True)
class Image:
    """What a VDU boots. ``argv`` None: no program of its own (the container idles after its
    first boot). ``ready``: a stdout line prefix that means "serving". ``rootfs``: ``host``,
    ``cirros`` or the absolute path of a registered image's unpacked root filesystem (the
    container's read-only lower layer). ``nsh_aware``: its software parses NSH (else a chain
    hop through it goes through the switch's NSH proxy)."""

    name: str
    argv: tuple[str, ...] | None
    ready: str | None = None
    rootfs: str = HOST_ROOTFS
    nsh_aware: bool = False


BUILTIN: Mapping[str, Image] = {
    "host": Image("host", None),
    "cirros": Image("cirros", None, rootfs=CIRROS_ROOTFS),
    "nsh-forwarder": Image("nsh-forwarder", (*_SF, "forwarder", "--iface", "{iface}"), "ready",
                           nsh_aware=True),
    "nsh-firewall": Image("nsh-firewall", (*_SF, "firewall", "--iface", "{iface}"), "ready",
                          nsh_aware=True),
    "nsh-counter": Image("nsh-counter", (*_SF, "counter", "--iface", "{iface}", "--report",
                                         "{workdir}/counter.json"), "ready", nsh_aware=True),
}

# Nova's classic flavors (name -> cpus, MiB), for VDUs that name a flavor instead of nfv_compute.
FLAVORS: Mapping[str, tuple[int, int]] = {
    "m1.tiny": (1, 512), "m1.small": (1, 2048), "m1.medium": (2, 4096),
    "m1.large": (4, 8192), "m1.xlarge": (8, 16384), "m1.nano": (1, 64), "m1.micro": (1, 128),
}


# ------------------------------------------------------------------------------ registered images
class ImageStatus(StrEnum):
    """Glance's image statuses. A failed import leaves nothing (no row, no files): ``killed`` is
    what an import interrupted by a crash is logged as when the next start removes it."""

    QUEUED = "queued"    # the row exists (the name is taken), no data yet
    SAVING = "saving"    # receiving and unpacking
    ACTIVE = "active"    # usable by VDUs
    KILLED = "killed"


DISK_FORMATS = ("tar", "tar.gz", "tar.xz")
IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")
_PROPERTY_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True)
class ImageRecord:
    """An image as the registry lists it (built-in ones too, ``builtin=True``). ``checksum``:
    sha256 (hex) of the uploaded file; ``rootfs``: where it is unpacked (registered, active) or
    ``host``/``cirros`` (built in)."""

    id: str
    name: str
    status: str          # an ImageStatus
    created_at: float
    size: int = 0        # bytes of the uploaded file
    checksum: str = ""
    disk_format: str = ""
    properties: tuple[tuple[str, str], ...] = ()
    rootfs: str = ""
    builtin: bool = False


def check_image_name(name: str) -> str:
    if not isinstance(name, str) or not IMAGE_NAME.match(name):
        raise InvalidRequest(f"image name {name!r}: use 1-128 letters, digits and . _ + - "
                             "(starting with a letter or digit)")
    if name in BUILTIN:
        raise InvalidRequest(f"image name {name!r} is a built-in image's")
    return name


def parse_property(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (the CLI's ``--property``); the value may contain ``=``."""
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidRequest(f"property {text!r} is not KEY=VALUE")
    return key.strip(), value


def _parse_bool(key: str, value: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise InvalidRequest(f"image property {key}={value!r}: expected true or false")


def _command(value: str) -> tuple[str, ...]:
    try:
        argv = tuple(shlex.split(value))
    except ValueError as exc:
        raise InvalidRequest(f"image property command={value!r}: {exc}") from exc
    if not argv:
        raise InvalidRequest("image property command is empty")
    for arg in argv:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
        except ValueError as exc:
            raise InvalidRequest(f"image property command: {arg!r}: {exc} (a literal brace is written twice)") from exc
        unknown = [f for f in fields if f not in PLACEHOLDERS]
        if unknown:
            raise InvalidRequest(f"image property command: unknown placeholder {{{unknown[0]}}} in {arg!r} "
                                 f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
    return argv


def check_properties(props: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The properties as stored (sorted pairs; ``nsh_aware`` normalised to true/false), or
    InvalidRequest naming the bad one."""
    out = {}
    for key, value in props.items():
        if not _PROPERTY_KEY.match(key):
            raise InvalidRequest(f"image property name {key!r}: use letters, digits and _ . : -")
        if key == "nsh_aware":
            value = "true" if _parse_bool(key, value) else "false"
        elif key == "command":
            _command(value)
        elif key == "ready" and not value:
            raise InvalidRequest("image property ready is empty (a stdout line prefix)")
        out[key] = value
    return tuple(sorted(out.items()))


def image_of(rec: ImageRecord) -> Image:
    """The image a VDU boots from a registered image's record."""
    props = dict(rec.properties)
    argv = _command(props["command"]) if "command" in props else None
    return Image(rec.name, argv, props.get("ready") or None, rec.rootfs,
                 _parse_bool("nsh_aware", props.get("nsh_aware", "false")))


def builtin_records() -> tuple[ImageRecord, ...]:
    """The built-in images as the registry lists them (id = name, nothing uploaded)."""
    def props(img: Image) -> tuple[tuple[str, str], ...]:
        out = {"nsh_aware": "true" if img.nsh_aware else "false"}
        if img.argv:
            out["command"] = shlex.join(img.argv)
        if img.ready:
            out["ready"] = img.ready
        return tuple(sorted(out.items()))
    return tuple(ImageRecord(img.name, img.name, ImageStatus.ACTIVE, 0.0, properties=props(img),
                             rootfs=img.rootfs, builtin=True) for img in BUILTIN.values())


# ------------------------------------------------------------------------------ the catalog
@dataclass(frozen=True)
class ImageCatalog:
    """Name -> Image: ``registered`` (from the registry's rows, by name; ``ids`` maps their ids
    to names), ``extra`` (programs on the host rootfs added in code), the built-ins, ``exec:``
    and the cloud names (see the module docstring)."""

    extra: Mapping[str, Image] = field(default_factory=dict)
    registered: Mapping[str, Image] = field(default_factory=dict)
    ids: Mapping[str, str] = field(default_factory=dict)

    def with_image(self, name: str, argv: list[str] | tuple[str, ...] | None,
                   ready: str | None = None) -> "ImageCatalog":
        return replace(self, extra={**self.extra, name: Image(name, tuple(argv) if argv else None, ready)})

    def with_registered(self, records: Iterable[ImageRecord]) -> "ImageCatalog":
        """This catalog with exactly the active registered images of ``records``."""
        active = [r for r in records if r.status == ImageStatus.ACTIVE and not r.builtin]
        return replace(self, registered={r.name: image_of(r) for r in active}, ids={r.id: r.name for r in active})

    def resolve(self, name: str) -> Image:
        if name in self.registered:
            return self.registered[name]
        if name in self.ids:
            return self.registered[self.ids[name]]
        if name in self.extra:
            return self.extra[name]
        if name in BUILTIN:
            return BUILTIN[name]
        if name.startswith("exec:"):
            argv = tuple(shlex.split(name[5:]))
            if not argv:
                raise InvalidRequest(f"image {name!r}: exec: needs a program")
            return Image(name, argv)
        if name.rsplit("/", 1)[-1].lower().startswith(CLOUD_IMAGE_PREFIXES):  # URLs too
            return BUILTIN[CLOUD_IMAGE_DEFAULT]
        known = sorted({*BUILTIN, *self.extra, *self.registered})
        raise InvalidRequest(f"unknown image {name!r}: known images are {', '.join(known)}, "
                             f"cloud images ({', '.join(CLOUD_IMAGE_PREFIXES)}...) and "
                             "'exec:PROGRAM ARGS'")


def render_argv(argv: tuple[str, ...], values: Mapping[str, str]) -> tuple[str, ...]:
    """Fill ``{placeholders}``; unknown ones are an error, not an empty string."""
    full = {"python": sys.executable, **values}
    try:
        return tuple(a.format_map(full) for a in argv)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidRequest(f"image command {list(argv)}: bad placeholder {exc}") from exc


_UNITS = {"b": 1, "kb": 10**3, "kib": 2**10, "mb": 10**6, "mib": 2**20, "gb": 10**9,
          "gib": 2**30, "tb": 10**12, "tib": 2**40}


def parse_size(text: str | int | None, *, default_unit: str = "b") -> int | None:
    """TOSCA scalar-unit.size ("64 MB", "1 GiB", "20GB") in bytes; None stays None."""
    if text is None:
        return None
    if isinstance(text, int):
        return text * _UNITS[default_unit]
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or (m.group(2) and m.group(2).lower() not in _UNITS):
        raise InvalidRequest(f"bad size {text!r} (e.g. '64 MB', '1 GiB')")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or default_unit).lower()])
