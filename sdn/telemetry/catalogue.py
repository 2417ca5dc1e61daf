"""What the figures need to know about the paths: SPI -> chain, path and hop names (pure).

A frozen value built from the controller's desired-state document, so figures carry names, and
attribution knows the classifiers. The NFVO names a rendered path ``VNFFG/NFP`` (its reverse
``VNFFG/NFP/reverse``): the first segment is the chain (VNFFG), the rest the path. A document
written by hand (no ``/``) makes each path its own chain of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sdn.document import SfcDocument
from sdn.match import ClassifierMatch


@dataclass(frozen=True, slots=True)
class HopInfo:
    si: int
    name: str                          # the service function
    nsh_aware: bool = True
    egress_ports: tuple[str, ...] = ()  # NSH-unaware: where its traffic comes back (re-classified)


@dataclass(frozen=True, slots=True)
class ClassifierInfo:
    name: str
    in_port: str
    match: ClassifierMatch
    priority: int


@dataclass(frozen=True, slots=True)
class PathInfo:
    spi: int
    name: str                          # the document's path name
    vnffg: str
    path: str
    hops: tuple[HopInfo, ...]
    classifiers: tuple[ClassifierInfo, ...] = ()
    switch: str = ""

    @property
    def end_si(self) -> int:
        return 255 - len(self.hops)

    def hop(self, si: int) -> HopInfo | None:
        index = 255 - si
        return self.hops[index] if 0 <= index < len(self.hops) else None


@dataclass(frozen=True)
class PathCatalogue:
    paths: Mapping[int, PathInfo] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, spi: int) -> PathInfo | None:
        return self.paths.get(spi)

    @staticmethod
    def of(paths: list[PathInfo] | tuple[PathInfo, ...]) -> PathCatalogue:
        return PathCatalogue(MappingProxyType({p.spi: p for p in paths}))


def split_name(name: str) -> tuple[str, str]:
    """(vnffg, path) of a document path name."""
    vnffg, sep, rest = name.partition("/")
    return (vnffg, rest) if sep and rest else (name, name)


def catalogue_of(doc: SfcDocument) -> PathCatalogue:
    """The catalogue of a checked document (unknown hop functions are taken as NSH-aware)."""
    functions = {f.name: f for f in doc.service_functions}
    paths = []
    for p in doc.paths:
        hops = []
        for i, name in enumerate(p.hops):
            fn = functions.get(name)
            aware = fn is None or fn.nsh_aware
            egress = () if aware or fn is None else tuple(sorted({inst.egress for inst in fn.instances}))
            hops.append(HopInfo(255 - i, name, aware, egress))
        first = functions.get(p.hops[0]) if p.hops else None
        switch = first.instances[0].switch if first is not None and first.instances else ""
        vnffg, path = split_name(p.name)
        paths.append(PathInfo(p.spi, p.name, vnffg, path, tuple(hops),
                              tuple(ClassifierInfo(c.name, c.in_port, c.match, c.priority) for c in p.classifiers),
                              switch))
    return PathCatalogue.of(paths)
