"""SPI allocation: stable across updates and restarts, requested ids honoured (pure)."""

from __future__ import annotations

from typing import Mapping, Sequence

from nfvo.errors import AlreadyExists, InvalidArgument
from sdn.document import MAX_SPI


def reverse_key(path: str) -> str:
    return f"{path}~reverse"


def allocate_spis(wanted: Sequence[tuple[str, int | None]], previous: Mapping[str, int],
                  taken: Mapping[int, str], field: str = "") -> dict[str, int]:
    """One SPI per key. ``wanted``: (key, requested SPI or None); ``previous``: this VNFFG's last
    allocation (kept when still free, so an update does not renumber live paths); ``taken``: SPI →
    owner of every other VNFFG's path. Free SPIs are handed out lowest first."""
    out: dict[str, int] = {}
    used = set(taken)
    for key, requested in wanted:
        if requested is None:
            continue
        if not 1 <= requested <= MAX_SPI:
            raise InvalidArgument(f"path id {requested} is not a 24-bit SPI (1..{MAX_SPI})", f"{field}{key}.id")
        if requested in used:
            owner = taken.get(requested) or next(k for k, v in out.items() if v == requested)
            raise AlreadyExists(f"SPI {requested} is already used by {owner}", f"{field}{key}.id")
        out[key] = requested
        used.add(requested)
    for key, requested in wanted:
        old = previous.get(key)
        if requested is None and old is not None and old not in used:
            out[key] = old
            used.add(old)
    candidate = 1
    for key, _ in wanted:
        if key in out:
            continue
        while candidate in used:
            candidate += 1
        if candidate > MAX_SPI:
            raise AlreadyExists("every SPI is in use", f"{field}{key}")
        out[key] = candidate
        used.add(candidate)
    return {key: out[key] for key, _ in wanted}
