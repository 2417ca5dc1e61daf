"""First boot of a VDU, as cloud-init does for ``user_data_format: RAW`` (pure).

The container's init is ``/bin/sh /var/lib/cloud/nfv-boot.sh PROGRAM...``: it runs the user_data
script once (cloud-init's ``scripts/part-001``), says how it ended on the console, then execs
the image's program (which becomes the container's init, so the VDU dies with it) or idles as a
minimal init. Tacker's ``config`` property is written to ``/var/lib/cloud/instance/config`` for
software in the VDU to read. The VIM writes these files in a directory it bind-mounts at
/var/lib/cloud, never through the image's own (possibly symlinked) tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CLOUD_DIR = "/var/lib/cloud"
CONFIG_PATH = f"{CLOUD_DIR}/instance/config"
USER_DATA_PATH = f"{CLOUD_DIR}/instance/user-data.txt"
MARK = "nfv-boot:"
BOOT_SCRIPT = f"""#!/bin/sh
# nfvchain first boot: the user_data once (cloud-init's RAW format), then the image's program.
i={CLOUD_DIR}/instance
[ -f "$i/config" ] && echo "{MARK} Tacker config in $i/config"
if [ -f "$i/scripts/part-001" ] && [ ! -e "$i/boot-finished" ]; then
  echo "{MARK} user_data start"
  "$i/scripts/part-001" </dev/null
  echo "{MARK} user_data exit $?"
  : > "$i/boot-finished"
else
  echo "{MARK} no user_data"
fi
[ $# -gt 0 ] && exec "$@"
trap : TERM INT HUP
while :; do sleep 3600 & wait $!; done
"""
_DONE = re.compile(rf"^{MARK} (?:user_data exit (\d+)|no user_data)$", re.M)


def boot_argv(program: tuple[str, ...] | None) -> tuple[str, ...]:
    """The container's init command line."""
    return ("/bin/sh", f"{CLOUD_DIR}/nfv-boot.sh", *(program or ()))


def boot_files(user_data: str | None, config: str | None) -> Mapping[str, tuple[str, int]]:
    """Files of the /var/lib/cloud directory: relative path -> (text, mode)."""
    files = {"nfv-boot.sh": (BOOT_SCRIPT, 0o755)}
    if user_data:
        files["instance/user-data.txt"] = (user_data, 0o600)
        files["instance/scripts/part-001"] = (user_data, 0o700)
    if config:
        files["instance/config"] = (config, 0o644)
    return files


def boot_result(console: str) -> tuple[bool, int | None]:
    """(first boot finished, user_data exit status or None when there was none)."""
    m = _DONE.search(console)
    if m is None:
        return False, None
    return True, (int(m.group(1)) if m.group(1) is not None else None)


def after_boot(console: str) -> str:
    """The program's part of the console (a ready line must not come from the user_data)."""
    m = _DONE.search(console)
    return console[m.end():] if m else ""


def describe(finished: bool, status: int | None, seconds: float, *, user_data: bool) -> str:
    """The record's ``boot`` text; starts with "user_data ok" or "no user_data" when all is well."""
    if not user_data:
        return "no user_data"
    if not finished:
        return f"user_data cut after {seconds:.0f} s (did not finish)"
    if status == 0:
        return f"user_data ok ({seconds:.2f} s)"
    return f"user_data failed: exit {status} after {seconds:.2f} s"


def boot_ok(boot: str) -> bool:
    return boot == "" or boot.startswith(("user_data ok", "no user_data"))
