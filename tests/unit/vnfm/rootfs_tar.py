"""Tiny root filesystem tarballs made in the test: busybox-static and its applet links."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static
MODE = {"tar": "w", "tar.gz": "w:gz", "tar.xz": "w:xz"}
# A one-VDU VNFD booting image IMAGE (replace it by an image name or id).
IMAGE_VNFD = """
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
metadata: {template_name: boxed}
topology_template:
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      properties: {image: IMAGE, flavor: m1.tiny}
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {order: 0}
      requirements: [{virtualLink: {node: VL1}}, {virtualBinding: {node: VDU1}}]
    VL1:
      type: tosca.nodes.nfv.VL
      properties: {network_name: net_img, vendor: nfvchain}
"""


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "",
          mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.size = kind, link, mode, len(data)
    return info, data


def _add(tar: tarfile.TarFile, info: tarfile.TarInfo, data: bytes = b"") -> None:
    tar.addfile(info, io.BytesIO(data) if info.isreg() else None)


def rootfs_tar(path: Path, fmt: str = "tar.gz", *, extra: list = (), busybox: bool = True, filler: bytes = b"") -> Path:
    """``bin/busybox`` (the real one), ``bin/sh`` -> busybox, an /etc, plus ``extra`` entries
    (``entry(...)`` pairs); ``filler``: the bytes of ``var/filler`` (to make the file big)."""
    with tarfile.open(path, MODE[fmt]) as tar:
        for name in ("bin", "etc", "var", "tmp"):
            _add(tar, *entry(name, tarfile.DIRTYPE, mode=0o755))
        if busybox:
            tar.add(BUSYBOX, "bin/busybox")
            _add(tar, *entry("bin/sh", tarfile.SYMTYPE, link="/bin/busybox"))
        _add(tar, *entry("etc/hostname", data=b"tiny\n"))
        if filler:
            _add(tar, *entry("var/filler", data=filler))
        for info, data in extra:
            _add(tar, info, data)
    return path
