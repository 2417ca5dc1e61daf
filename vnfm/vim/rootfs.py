"""The built-in ``cirros`` root filesystem: a CirrOS-like userland from Debian's busybox-static.

Why build it: a VDU image named ``cirros`` (Tacker's samples all use one) should boot something
that looks like CirrOS (busybox sh, ip, ifup/udhcpc, nc, wget, httpd...) without downloading a
disk image. It is built once per VIM state dir, in a temporary directory renamed into place, so a
half-built tree is never used and two managers racing both end up with one complete copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from vnfm.errors import VimError
from vnfm.images import CIRROS_ROOTFS, HOST_ROOTFS

BUSYBOX = Path("/bin/busybox")
LAYOUT = 3          # bump when the tree below changes: a new name, so old caches are not reused

# busybox ships no udhcpc event script. This one applies a lease as CirrOS' does, except that
# "deconfig" keeps the address the VIM gave the port (Neutron's fixed IP): without a DHCP server
# the interface stays usable instead of losing its address.
UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc event script: $1 = deconfig|bound|renew|leasefail|nak; lease in $ip $mask $router $dns
case "$1" in
  deconfig)
    ip link set dev "$interface" up ;;
  bound|renew)
    ip link set dev "$interface" up
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    ip addr replace "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    if [ -n "$dns" ]; then
      : > /etc/resolv.conf
      [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
      for s in $dns; do echo "nameserver $s" >> /etc/resolv.conf; done
    fi ;;
esac
exit 0
"""

# ifup runs busybox's udhcpc applet ("-R -n", compiled in): without a DHCP server it gives up
# after 3 discovers 3 s apart, and ifup fails, so a first boot never waits for a lease forever.
FILES = {
    "etc/network/interfaces": "auto lo\niface lo inet loopback\n",
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\ncirros:x:1000:1000:cirros:/home/cirros:/bin/sh\n",
    "etc/group": "root:x:0:\ncirros:x:1000:\n",
    "etc/shadow": "root:*:19000:0:99999:7:::\ncirros:*:19000:0:99999:7:::\n",
    "etc/hostname": "cirros\n",
    "etc/hosts": "127.0.0.1 localhost\n",
    "etc/resolv.conf": "",
    "etc/os-release": 'NAME="CirrOS (nfvchain busybox)"\nID=cirros\n',
    "usr/share/udhcpc/default.script": UDHCPC_SCRIPT,
}
DIRS = ("proc", "sys", "dev", "run", "tmp", "var/log", "var/tmp", "var/lib", "root", "home/cirros",
        "mnt", "etc/network/if-up.d", "etc/network/if-down.d", "etc/network/if-pre-up.d",
        "etc/network/if-post-down.d", "lib", "usr/lib")


def lower_dir(rootfs: str, cache: Path) -> Path:
    """The read-only lower layer of an image's root filesystem (``Image.rootfs``)."""
    if rootfs == HOST_ROOTFS:
        return Path("/")
    if rootfs == CIRROS_ROOTFS:
        return ensure_cirros(cache)
    path = Path(rootfs)
    if not path.is_absolute() or not (path / "bin").exists() and not (path / "usr").is_dir():
        raise VimError(f"image root filesystem {rootfs!r} is not an unpacked root filesystem "
                       "(need host, cirros or an absolute path holding bin/ or usr/)")
    return path


def ensure_cirros(cache: Path) -> Path:
    """``<cache>/cirros-<LAYOUT>``, built now if missing."""
    target = cache / f"cirros-{LAYOUT}"
    if (target / "bin" / "busybox").exists():
        return target
    if not BUSYBOX.exists():
        raise VimError(f"cannot build the cirros image: {BUSYBOX} missing (apt install busybox-static)")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".cirros-", dir=cache))
    try:
        _build(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "bin" / "busybox").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _build(root: Path) -> None:
    root.chmod(0o755)
    for d in DIRS:
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "var" / "tmp").chmod(0o1777)
    (root / "var" / "run").symlink_to("../run")
    (root / "bin").mkdir(exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX), "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    for rel in applets:
        link = root / rel
        if rel == "bin/busybox" or link.exists():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "usr/share/udhcpc/default.script").chmod(0o755)
    (root / "etc/shadow").chmod(0o600)
