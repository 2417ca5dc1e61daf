"""The NSH MD type 1 context header (C1..C4) of nfvchain across compute hosts (pure).

Why a layout: on one switch C1 held the switch-local ingress port, so the path end could hand the
frame back to that port. Across hosts the path end may sit on another host than the classifier,
so the context must say *which host* the flow entered on, and in which virtual link, for the end
(or the reverse path of a symmetric chain) to tunnel back to it. Fields follow the spirit of the
data-centre allocation draft (draft-guichard-sfc-nsh-dc-allocation: network platform context =
source node + source interface, network shared context = tenant/segment), sized for OVS:

======  =======  =====================  ======================  ========================================
word    bits     field                  written by              read by
======  =======  =====================  ======================  ========================================
C1      31..29   reserved, 0            --                      --
C1      28       ``to_destination``     classifier; the         path end: 1 = bits 27..0 name the
                 (flag)                 proxy (below)           destination, 0 = where the flow entered
C1      27..16   ``ingress_host``       classifier; the         path end: the host to deliver back on
                 (host id 1..4095;      proxy of an NSH-        (``nsh_c1=H<<16/0x0fff0000`` -> tun_dst);
                 0 = this switch)       unaware hop (below)     0 keeps today's single-switch meaning;
                                                                with the flag: the destination's host
C1      15..0    ``ingress_port``       classifier; the         path end on that host: ``move``
                 (OpenFlow port;        proxy (below)           C1[0..15] -> in_port, then NORMAL;
                 with the flag: the                             with the flag: an exact match on C1
                 destination number)                            outputs to the destination's port
C2      31..24   reserved, 0            --                      --
C2      23..0    ``segment``            classifier              path end on another host: the VNI of the
                 (VL segment id, VNI)                           plain-VXLAN hand-off into the ingress VL
C3      31..0    ``service``            SFs (opaque)            SFs (service platform context); SFFs
                                                                never read or write it
C4      31..16   reserved, 0            --                      --
C4      15..0    ``flow_hash``          classifier              each multi-instance hop: its SF's
                 (symmetric L4 hash)    (``multipath``)         slot table (``sdn.balance``) maps the
                                                                low bits to an instance (both
                                                                directions hash alike)
======  =======  =====================  ======================  ========================================

C1 says where the path *ends*, which is where it began unless an NSH-unaware hop re-wraps it: the
proxy (the unaware SF's own switch) re-classifies what the SF sends back and writes C1 afresh. A
routing SF (one-armed, a MAC) sends frames with its own source MAC, so C1 = (its host, its port):
the path ends on the SF's host, where NORMAL learns that MAC on the right port. A bump in the wire
keeps the client's MAC, so C1 = (the classifier's host, its port) again; the proxy knows that port
only on the classifier's own host, hence ``sdn.document`` keeps such an SF on its classifiers'.

A classifier that knows where its traffic goes (``sdn.document.Classifier.destination``,
networking-sfc's logical_destination_port) writes C1 = (``to_destination`` = 1, the destination's
host, the destination's number in its path: ``sdn.document.ServicePath.destinations``) instead, and so does
the proxy after an unaware hop: the last SFF sends the end SI straight to that host, whose egress
flow for exactly that C1 word strips NSH and outputs to the destination's port (no NORMAL, no
trip back through the classifier's host and over the virtual link's tunnel). A number rather than
the port itself: only the destination's own switch knows its OpenFlow port number, and a renumbered
port then changes that switch's flows alone. The flag keeps the two meanings apart on the wire (an
ingress (host, port) may equal a destination's (host, number)).

With ``ingress_host == 0`` and ``segment == 0`` the words are exactly the single-host layout
sdn.render writes today (C1 = in_port, C4 = flow hash), so hosts can be introduced path by path.
"""

from __future__ import annotations

from dataclasses import dataclass

WORDS = ("nsh_c1", "nsh_c2", "nsh_c3", "nsh_c4")


class ContextError(ValueError):
    """A context value does not fit its field, or a word has reserved bits set (names which)."""


@dataclass(frozen=True)
class Field:
    """A bit field of one context word: ``word`` (nsh_c1..4), lowest bit ``ofs``, width ``nbits``."""

    name: str
    word: str
    ofs: int
    nbits: int

    @property
    def mask(self) -> int:
        return ((1 << self.nbits) - 1) << self.ofs

    @property
    def max(self) -> int:
        return (1 << self.nbits) - 1

    @property
    def subfield(self) -> str:
        """The ovs-ofctl subfield, e.g. ``nsh_c1[0..15]`` for ``move`` (NSH fields have no NXM_NX_ name)."""
        return f"{self.word}[{self.ofs}..{self.ofs + self.nbits - 1}]"

    def place(self, value: int) -> int:
        """``value`` shifted into its place in the word (ContextError if it does not fit)."""
        if not 0 <= value <= self.max:
            raise ContextError(f"NSH context {self.name} = {value} does not fit {self.nbits} bits (0..{self.max})")
        return value << self.ofs

    def match(self, value: int) -> tuple[str, int, int]:
        """(word, value, mask) for a masked match on this field alone, e.g. ``nsh_c1=0x20000/0xfff0000``."""
        return self.word, self.place(value), self.mask

    def take(self, word: int) -> int:
        return (word & self.mask) >> self.ofs


INGRESS_HOST = Field("ingress_host", "nsh_c1", 16, 12)
INGRESS_PORT = Field("ingress_port", "nsh_c1", 0, 16)
TO_DESTINATION = Field("to_destination", "nsh_c1", 28, 1)
SEGMENT = Field("segment", "nsh_c2", 0, 24)
SERVICE = Field("service", "nsh_c3", 0, 32)
FLOW_HASH = Field("flow_hash", "nsh_c4", 0, 16)
FIELDS = (INGRESS_HOST, INGRESS_PORT, TO_DESTINATION, SEGMENT, SERVICE, FLOW_HASH)
MAX_HOST_ID = INGRESS_HOST.max


@dataclass(frozen=True)
class Context:
    """The four context words as named fields; ``words()`` / ``from_words()`` convert."""

    ingress_host: int = 0
    ingress_port: int = 0
    to_destination: int = 0
    segment: int = 0
    service: int = 0
    flow_hash: int = 0

    def __post_init__(self) -> None:
        for f in FIELDS:
            f.place(getattr(self, f.name))  # validates

    def words(self) -> tuple[int, int, int, int]:
        """(C1, C2, C3, C4), ready for ``dataplane.nsh.Nsh.md1(context=...)`` or set_field."""
        out = dict.fromkeys(WORDS, 0)
        for f in FIELDS:
            out[f.word] |= f.place(getattr(self, f.name))
        return out["nsh_c1"], out["nsh_c2"], out["nsh_c3"], out["nsh_c4"]

    @classmethod
    def from_words(cls, words: tuple[int, int, int, int]) -> "Context":
        """Decode C1..C4; reserved bits must be 0 (an SFF or SF that set them is a bug to surface)."""
        by_word = dict(zip(WORDS, words, strict=True))
        for word, value in by_word.items():
            if not 0 <= value <= 0xFFFFFFFF:
                raise ContextError(f"NSH context word {word} = {value} is not a 32-bit value")
            used = sum(f.mask for f in FIELDS if f.word == word)
            if value & ~used:
                raise ContextError(f"NSH context word {word} = {value:#010x} has reserved bits "
                                   f"{value & ~used:#010x} set")
        return cls(**{f.name: f.take(by_word[f.word]) for f in FIELDS})


def destination_c1(host_id: int, number: int) -> int:
    """C1 of a classifier with a destination: the flag, the destination's host and its number."""
    return TO_DESTINATION.place(1) | INGRESS_HOST.place(host_id) | INGRESS_PORT.place(number)


def match_text(field: Field, value: int) -> str:
    """``ovs-ofctl`` match text for one field, e.g. ``nsh_c1=0x20000/0xfff0000``."""
    word, val, mask = field.match(value)
    return f"{word}={val:#x}/{mask:#x}"
