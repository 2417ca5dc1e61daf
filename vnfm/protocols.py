"""The VNF manager's and the image registry's ports to persistence (``vnfm.sqlstore.VnfSqlStore``
is the adapter of both), so their modules import no database code and tests may hand them any store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vnfm.images import ImageRecord
from vnfm.model import Network, VnfEvent, VnfRecord
from vnfm.spec import VnfSpec


@dataclass(frozen=True)
class StoredVnf:
    """A VNF as persisted: its record and the spec it was instantiated (or updated) from."""

    record: VnfRecord
    spec: VnfSpec


class Store(Protocol):
    """One deployment's VNFs, networks and events."""

    def put(self, rec: VnfRecord, spec: VnfSpec | None = None) -> None:
        """Insert or replace; ``spec=None`` updates the record of a stored VNF only."""
    def delete(self, vnf_id: str) -> None: ...
    def all(self) -> list[StoredVnf]: ...
    def networks(self) -> dict[str, Network]: ...
    def add_networks(self, nets: list[Network]) -> None: ...
    def add_event(self, ev: VnfEvent) -> None: ...
    def events(self, vnf_id: str | None = None) -> list[VnfEvent]: ...
    def close(self) -> None: ...


class ImageStore(Protocol):
    """One deployment's registered images, beside its VNFs (whose VDUs name the images they use:
    the registry refuses to delete an image one of them names)."""

    def images(self) -> list[ImageRecord]: ...
    def put_image(self, rec: ImageRecord, *, new: bool = False) -> None:
        """``new``: insert (``vnfm.errors.AlreadyExists`` if the name is taken); else replace."""
    def delete_image(self, image_id: str) -> None: ...
    def all(self) -> list[StoredVnf]: ...
