"""The local image catalog and flavor table: what a VDU's ``image``/``flavor`` mean on this host.

An image is a program (argv template, never run through a shell) or nothing at all (``host``: a
plain endpoint whose kernel answers ping). Templates may use ``{iface}`` (first data CP's
interface), ``{mgmt_iface}``, ``{python}``, ``{workdir}`` and ``{volume}``. Cloud image names
from Tacker's samples (cirros, ubuntu, centos, fedora, debian, openwrt...) map to ``host``: the
documented default, since a netns has no guest OS to boot. ``exec:PROG ARG...`` runs any program.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from vnfm.errors import InvalidRequest

CLOUD_IMAGE_DEFAULT = "host"
CLOUD_IMAGE_PREFIXES = ("cirros", "ubuntu", "centos", "fedora", "debian", "openwrt", "rhel",
                        "cloud", "vyos", "vnf")
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


@dataclass(frozen=True)
class ImageCatalog:
    """Built-in SF images plus operator-registered ones (name -> argv template)."""

    extra: Mapping[str, Image] = field(default_factory=dict)

    def with_image(self, name: str, argv: list[str] | tuple[str, ...] | None,
                   ready: str | None = None) -> "ImageCatalog":
        return ImageCatalog({**self.extra, name: Image(name, tuple(argv) if argv else None,
                                                       ready)})

    def resolve(self, name: str) -> Image:
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
            return Image(name, None)
        known = sorted({*BUILTIN, *self.extra})
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
