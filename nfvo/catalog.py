"""The catalog: onboarded descriptors (VNFD, VNFFGD, NSD) and registered VIMs.

Templates are parsed on the way in (``descriptors`` reports every bad field with its path) and
stored as text; models are re-derived when used, so the store never holds a stale model.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping

from descriptors import Nsd, Vnfd, Vnffgd, load_nsd, load_vnfd, load_vnffgd
from nfvo.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from nfvo.model import DescriptorRecord, VimRecord
from nfvo.protocols import Store
from nfvo.vnffg.sffs import vim_switches
from nfvo.vnffg.spec import check_name
from sdn.document import Switch
from vnfm.vim.base import ComputeHostInfo

MAX_TEMPLATE = 1 << 20  # 1 MiB of YAML is far beyond any real descriptor
VIM_TYPES = ("local",)


class Catalog:
    def __init__(self, store: Store, *, now: Callable[[], float] = time.time,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())):
        self._store = store
        self._now = now
        self._new_id = new_id
        self._models: dict[str, Any] = {}  # descriptor id -> parsed model (templates never change)

    # ----------------------------------------------------------------- descriptors
    def create_descriptor(self, kind: str, name: str, template: str, description: str = "") -> DescriptorRecord:
        check_name(name, "name")
        if not isinstance(template, str) or not template.strip():
            raise InvalidArgument("the template is empty", "template")
        if len(template) > MAX_TEMPLATE:
            raise InvalidArgument(f"the template is {len(template)} bytes; at most {MAX_TEMPLATE}", "template")
        if self._store.get(kind, name) is not None:
            raise AlreadyExists(f"{kind} {name!r} already exists")
        model = self._parse(kind, name, template)
        vnf_type = model.vnf_type.node_type if kind == "VNFD" and model.vnf_type else ""
        record = DescriptorRecord(self._new_id(), kind, name, description or model.description or "",
                                  template, model.summary(), self._now(), vnf_type)
        self._store.insert(kind, record.id, name, record.to_dict())
        self._models[record.id] = model
        return record

    def _parse(self, kind: str, name: str, template: str) -> Any:
        if kind == "VNFD":
            return load_vnfd(template, name=name, file=f"VNFD {name}")
        vnfds = self.vnfds()
        if kind == "VNFFGD":
            model = load_vnffgd(template, name=name, file=f"VNFFGD {name}")
            forwarders = {h.forwarder for p in model.paths for h in p.hops}
            return load_vnffgd(template, name=name, vnfds=vnfds, file=f"VNFFGD {name}") \
                if forwarders & vnfds.keys() else model
        if kind == "NSD":
            return load_nsd(template, vnfds=vnfds, name=name, file=f"NSD {name}")
        raise InvalidArgument(f"unknown descriptor kind {kind!r}", "kind")

    def descriptor(self, kind: str, name_or_id: str) -> DescriptorRecord:
        body = self._store.get(kind, name_or_id)
        if body is None:
            raise NotFound(f"no {kind} {name_or_id!r}")
        return DescriptorRecord.from_dict(body)

    def descriptors(self, kind: str) -> list[DescriptorRecord]:
        return sorted((DescriptorRecord.from_dict(b) for b in self._store.list(kind)), key=lambda r: r.created_at)

    def model(self, record: DescriptorRecord) -> Any:
        if record.id not in self._models:
            self._models[record.id] = self._parse(record.kind, record.name, record.template)
        return self._models[record.id]

    def vnfd(self, name_or_id: str, params: Mapping[str, Any] | None = None) -> tuple[DescriptorRecord, Vnfd]:
        """The VNFD's model, with ``params`` for its get_input values when given."""
        record = self.descriptor("VNFD", name_or_id)
        if not params:
            return record, self.model(record)
        return record, load_vnfd(record.template, params, name=record.name)

    def vnfds(self) -> dict[str, Vnfd]:
        return {r.name: self.model(r) for r in self.descriptors("VNFD")}

    def vnffgd(self, name_or_id: str, params: Mapping[str, Any] | None = None) -> Vnffgd:
        record = self.descriptor("VNFFGD", name_or_id)
        if not params:
            return self.model(record)
        return load_vnffgd(record.template, params, name=record.name, vnfds=self.vnfds(),
                           file=f"VNFFGD {record.name}")

    def nsd(self, name_or_id: str, params: Mapping[str, Any] | None = None) -> tuple[DescriptorRecord, Nsd]:
        record = self.descriptor("NSD", name_or_id)
        if not params:
            return record, self.model(record)
        return record, load_nsd(record.template, params, vnfds=self.vnfds(), name=record.name,
                                file=f"NSD {record.name}")

    def update_descriptor(self, kind: str, name_or_id: str, description: str) -> DescriptorRecord:
        """Only the description: an onboarded template is what running VNFs/NSs were made from."""
        record = replace(self.descriptor(kind, name_or_id), description=description)
        self._store.update(kind, record.id, record.to_dict())
        return record

    def delete_descriptor(self, kind: str, name_or_id: str) -> DescriptorRecord:
        record = self.descriptor(kind, name_or_id)
        self._store.delete(kind, record.id)
        self._models.pop(record.id, None)
        return record

    # ----------------------------------------------------------------- VIMs
    def register_vim(self, name: str, *, type: str = "local", bridge: str, dpid: int, is_default: bool = False,
                     ingress_port: str = "", egress_port: str = "", description: str = "") -> VimRecord:
        check_name(name, "name")
        if type not in VIM_TYPES:
            raise InvalidArgument(f"unknown VIM type {type!r} (one of {', '.join(VIM_TYPES)})", "type")
        if not bridge:
            raise InvalidArgument("a VIM needs the bridge its ports land on", "bridge")
        if not 1 <= dpid < 1 << 64:
            raise InvalidArgument(f"dpid must be a 64-bit datapath id, got {dpid}", "dpid")
        if self._store.get("VIM", name) is not None:
            raise AlreadyExists(f"VIM {name!r} already exists")
        is_default = is_default or not self._store.list("VIM")
        record = VimRecord(self._new_id(), name, type, bridge, dpid, is_default, ingress_port, egress_port,
                           description, self._now())
        if is_default:
            for other in self.vims():
                if other.is_default:
                    self._store.update("VIM", other.id, replace(other, is_default=False).to_dict())
        self._store.insert("VIM", record.id, name, record.to_dict())
        return record

    def update_vim(self, name_or_id: str, **changes: Any) -> VimRecord:
        record = self.vim(name_or_id)
        record = replace(record, **{k: v for k, v in changes.items() if v is not None})
        self._store.update("VIM", record.id, record.to_dict())
        return record

    def vim(self, name_or_id: str | None = None) -> VimRecord:
        if not name_or_id:
            default = next((v for v in self.vims() if v.is_default), None)
            if default is None:
                raise FailedPrecondition("no VIM is registered (nfv vim register ...)")
            return default
        body = self._store.get("VIM", name_or_id)
        if body is None:
            raise NotFound(f"no VIM {name_or_id!r}")
        return VimRecord.from_dict(body)

    def vims(self) -> list[VimRecord]:
        return sorted((VimRecord.from_dict(b) for b in self._store.list("VIM")), key=lambda r: r.created_at)

    def switches(self, hosts: Iterable[ComputeHostInfo] = ()) -> dict[str, Switch]:
        """The SFFs chains render onto: the VIMs' compute hosts' switches (``hosts``), and the bridge
        of every registered VIM they do not describe (``nfvo.vnffg.sffs.vim_switches``)."""
        return vim_switches(self.vims(), hosts)

    def delete_vim(self, name_or_id: str) -> VimRecord:
        record = self.vim(name_or_id)
        self._store.delete("VIM", record.id)
        return record
