"""Flow cookies: who owns a flow.

Layout (64 bits): ``0x5fc`` app tag in the top 12 bits, a 4-bit role, then the
24-bit SPI of the owning path (0 for pipeline-wide flows). Every flow nfvchain installs carries
the tag, so flows of another run or another application are recognisable and never touched.
"""

from __future__ import annotations

from enum import IntEnum

APP_TAG = 0x5FC
APP_SHIFT = 52
ROLE_SHIFT = 48
APP_MASK = 0xFFF << APP_SHIFT
OWNED_MASK = APP_MASK


class Role(IntEnum):
    PIPELINE = 0
    CLASSIFIER = 1
    HOP = 2
    EGRESS = 3


def make_cookie(role: Role, spi: int = 0) -> int:
    return (APP_TAG << APP_SHIFT) | (int(role) << ROLE_SHIFT) | (spi & 0xFFFFFF)


def is_ours(cookie: int) -> bool:
    return (cookie & APP_MASK) == (APP_TAG << APP_SHIFT)


def spi_of(cookie: int) -> int:
    return cookie & 0xFFFFFF


def role_of(cookie: int) -> Role:
    return Role((cookie >> ROLE_SHIFT) & 0xF)


# OpenFlow 1.3 groups carry no cookie: our groups are recognised by the top byte of their id.
GROUP_TAG = 0x5F
GROUP_SHIFT = 24


def make_group_id(index: int) -> int:
    return (GROUP_TAG << GROUP_SHIFT) | (index & 0xFFFFFF)


def is_our_group(group_id: int) -> bool:
    return (group_id >> GROUP_SHIFT) == GROUP_TAG
