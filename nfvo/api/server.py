"""The NFVO's gRPC API: a thin servicer over ``NfvoService``, plus health and reflection."""

from __future__ import annotations

import queue
import threading
from typing import Any

import grpc
from grpc_health.v1 import health

from descriptors import read_params
from nfvo.api import convert, stats
from nfvo.api.errors import ErrorMappingInterceptor
from nfvo.api.health import watch_status
from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.api.v1 import nfvo_pb2_grpc
from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from nfvo.model import VnffgRecord
from nfvo.service import NfvoService
from sdn.api.server import open_channel, start_server

MAX_MESSAGE = 4 * 1024 * 1024
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Nfvo"].full_name
KINDS = ("VNFD", "VNFFGD", "NSD")
WATCH_POLL = 0.5
STATS_WINDOW = 10.0


def _kind(kind: str) -> str:
    kind = (kind or "").upper()
    if kind not in KINDS:
        raise InvalidArgument(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", "kind")
    return kind


def _params(text: str) -> dict[str, Any] | None:
    return read_params(text, "params") if text and text.strip() else None


def _classifier_of(record: VnffgRecord, name: str) -> pb.Classifier:
    """The classifier as the change returned it: with --no-wait still PENDING_UPDATE, even if the
    background push has finished by now (re-reading the store would race it)."""
    path, clf = next((p, c) for p in record.spec.paths for c in p.classifiers if c.name == name)
    return convert.classifier(record, path, clf)


class NfvoServicer(nfvo_pb2_grpc.NfvoServicer):
    def __init__(self, service: NfvoService, host_ops: Any = None):
        self.s = service
        self.host_ops = host_ops    # nfvo.hostops.HostOps: failing and recovering compute hosts

    # VIMs
    def CreateVim(self, r, context):
        return convert.vim(self.s.register_vim(
            r.name, type=r.type or "local", bridge=r.bridge, dpid=r.dpid, is_default=r.is_default,
            ingress_port=r.ingress_port, egress_port=r.egress_port, description=r.description))

    def UpdateVim(self, r, context):
        changes = {f: getattr(r, f) for f in ("is_default", "ingress_port", "egress_port", "description")
                   if r.HasField(f)}
        return convert.vim(self.s.catalog.update_vim(r.name, **changes))

    def ListVims(self, r, context):
        return pb.VimList(vims=[convert.vim(v) for v in self.s.catalog.vims()])

    def GetVim(self, r, context):
        return convert.vim(self.s.catalog.vim(r.name or "-"))

    def DeleteVim(self, r, context):
        return convert.vim(self.s.delete_vim(r.name or "-"))

    # descriptors
    def CreateDescriptor(self, r, context):
        return convert.descriptor(self.s.catalog.create_descriptor(_kind(r.kind), r.name, r.template, r.description))

    def ListDescriptors(self, r, context):
        return pb.DescriptorList(descriptors=[convert.descriptor(d, template=False)
                                              for d in self.s.catalog.descriptors(_kind(r.kind))])

    def GetDescriptor(self, r, context):
        return convert.descriptor(self.s.catalog.descriptor(_kind(r.kind), r.name))

    def UpdateDescriptor(self, r, context):
        return convert.descriptor(self.s.catalog.update_descriptor(_kind(r.kind), r.name, r.description),
                                  template=False)

    def DeleteDescriptor(self, r, context):
        return convert.descriptor(self.s.delete_descriptor(_kind(r.kind), r.name), template=False)

    # VNFs
    def CreateVnf(self, r, context):
        return convert.vnf(self.s.create_vnf(r.name, r.vnfd_name, _params(r.params_yaml), r.vim_name))

    def ListVnfs(self, r, context):
        return pb.VnfList(vnfs=[convert.vnf(v) for v in self.s.list_vnfs()])

    def GetVnf(self, r, context):
        return convert.vnf(self.s.get_vnf(r.name))

    def UpdateVnf(self, r, context):
        return convert.vnf(self.s.update_vnf(r.name, _params(r.params_yaml)))

    def DeleteVnf(self, r, context):
        return convert.vnf(self.s.delete_vnf(r.name))

    def HealVnf(self, r, context):
        self.s.heal_vnf(r.name, r.vdu or None)
        return convert.vnf(self.s.get_vnf(r.name))

    def ScaleVnf(self, r, context):
        self.s.scale_vnf(r.name, r.policy, r.direction)
        return convert.vnf(self.s.get_vnf(r.name))

    def ExecVnf(self, r, context):
        done = self.s.exec_vnf(r.name, list(r.argv), r.vdu or None)
        return pb.ExecReply(returncode=done.returncode, stdout=done.stdout or "", stderr=done.stderr or "")

    def GetVnfLog(self, r, context):
        vdu, text = self.s.vnf_log(r.name, r.vdu or None, r.instance)
        return pb.VnfLog(vdu=vdu, text=text)

    # VNFFGs
    def CreateVnffg(self, r, context):
        return convert.vnffg(self.s.create_vnffg(
            r.name, chain=r.chain, abstract_types=r.abstract_types, symmetrical=r.symmetrical,
            vnffgd=r.vnffgd_name, vnf_mapping=dict(r.vnf_mapping), params=_params(r.params_yaml),
            description=r.description, failure_policy=r.failure_policy, wait=not r.no_wait))

    def UpdateVnffg(self, r, context):
        return convert.vnffg(self.s.update_vnffg(
            r.name, chain=r.chain, abstract_types=r.abstract_types,
            symmetrical=r.symmetrical if r.HasField("symmetrical") else None,
            vnf_mapping=dict(r.vnf_mapping), description=r.description if r.HasField("description") else None,
            failure_policy=r.failure_policy if r.HasField("failure_policy") else None, wait=not r.no_wait))

    def ListVnffgs(self, r, context):
        return pb.VnffgList(vnffgs=[convert.vnffg(v) for v in self.s.vnffgs.list()])

    def GetVnffg(self, r, context):
        return convert.vnffg(self.s.vnffgs.get(r.name))

    def DeleteVnffg(self, r, context):
        return convert.vnffg(self.s.delete_vnffg(r.name))

    # classifiers
    def CreateClassifier(self, r, context):
        return _classifier_of(self.s.create_classifier(r.name, r.chain, r.match, path=r.path, wait=not r.no_wait),
                              r.name)

    def UpdateClassifier(self, r, context):
        return _classifier_of(self.s.update_classifier(r.name, r.match, wait=not r.no_wait), r.name)

    def ListClassifiers(self, r, context):
        return pb.ClassifierList(classifiers=[convert.classifier(*t) for t in self.s.vnffgs.classifiers()])

    def GetClassifier(self, r, context):
        return convert.classifier(*self.s.vnffgs.classifier(r.name))

    def DeleteClassifier(self, r, context):
        found = convert.classifier(*self.s.vnffgs.classifier(r.name))
        self.s.vnffgs.change_classifier(r.name, None)
        return found

    # NSs
    def CreateNs(self, r, context):
        return convert.ns(self.s.create_ns(r.name, r.nsd_name, _params(r.params_yaml), r.description))

    def ListNs(self, r, context):
        return pb.NsList(ns=[convert.ns(n) for n in self.s.list_ns()])

    def GetNs(self, r, context):
        return convert.ns(self.s.get_ns(r.name))

    def UpdateNs(self, r, context):
        return convert.ns(self.s.update_ns(r.name, r.description))

    def DeleteNs(self, r, context):
        return convert.ns(self.s.delete_ns(r.name))

    # alarms
    def ListAlarms(self, r, context):
        return pb.AlarmList(alarms=[convert.alarm(a) for a in self.s.list_alarms(r.vnf or None)])

    def GetAlarm(self, r, context):
        return convert.alarm(self.s.get_alarm(r.name))

    # events
    def Watch(self, r, context):
        kinds = {k.upper() for k in r.kinds}
        q = self.s.bus.subscribe()
        try:
            while context.is_active():
                try:
                    event = q.get(timeout=WATCH_POLL)
                except queue.Empty:
                    continue
                if (not kinds or event.kind in kinds) and (not r.name or r.name in (event.name, event.id)):
                    yield convert.event(event)
        finally:
            self.s.bus.unsubscribe(q)

    # images
    def CreateImage(self, requests, context):
        first = next(requests, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgument("the first CreateImageRequest must carry the image's metadata", "metadata")
        meta = first.metadata
        return convert.image(self.s.create_image(meta.name, _chunks(requests), dict(meta.properties),
                                                 meta.disk_format))

    def ListImages(self, r, context):
        return pb.ImageList(images=[convert.image(i) for i in self.s.list_images()])

    def GetImage(self, r, context):
        return convert.image(self.s.get_image(r.name))

    def DeleteImage(self, r, context):
        return convert.image(self.s.delete_image(r.name))


    # telemetry (issue 11)
    def GetVnffgStats(self, r, context):
        window = r.window or STATS_WINDOW
        record, figures, now = self.s.vnffg_stats(r.name or "-", window)
        return stats.vnffg_stats(record, figures, now, window)

    def WatchVnffgStats(self, r, context):
        window, interval = r.window or STATS_WINDOW, r.interval or 1.0
        if not 0.1 <= interval <= 3600:
            raise InvalidArgument(f"interval must be in [0.1, 3600] seconds, got {interval:g}", "interval")
        done = threading.Event()
        context.add_callback(done.set)
        while context.is_active():
            record, figures, now = self.s.vnffg_stats(r.name or "-", window)
            yield stats.vnffg_stats(record, figures, now, window)
            if done.wait(interval):
                return

    def ListExporters(self, r, context):
        return pb.ExporterList(exporters=[stats.exporter(e) for e in self.s.exporters()])

    def GetStatus(self, r, context):
        return stats.status(self.s.stack_status())

    # compute hosts
    def ListHosts(self, r, context):
        vdus = convert.host_vdus(self.s.vnfm.list())
        return pb.HostList(hosts=[convert.host(h, vdus) for h in self.s.vnfm.hosts()])

    def GetHost(self, r, context):
        hosts = {h.name: h for h in self.s.vnfm.hosts()}
        if r.name not in hosts:
            raise NotFound(f"no compute host {r.name!r} (hosts: {', '.join(hosts) or 'none'})")
        return convert.host(hosts[r.name], convert.host_vdus(self.s.vnfm.list()))

    def FailHost(self, r, context):
        result = self._host_ops().fail(r.name, r.reason)
        plan = result.plan
        return pb.HostAction(host=self.GetHost(r, context), seconds=result.seconds,
                             evacuated=[f"{e.vnf_name}/{label}" for e in plan.evacuees for label in e.labels],
                             skipped=[f"{name}: {why}" for name, why in plan.skipped])

    def RecoverHost(self, r, context):
        result = self._host_ops().recover(r.name)
        return pb.HostAction(host=self.GetHost(r, context), purged=list(result.purged), seconds=result.seconds)

    def AddHost(self, r, context):
        result = self._host_ops(RACKLESS).add(r.name)
        return pb.HostAction(host=self.GetHost(pb.GetRequest(name=result.host), context), seconds=result.seconds)

    def RemoveHost(self, r, context):
        if not r.name:
            raise InvalidArgument("name the compute host to remove", "name")
        result = self._host_ops(RACKLESS).remove(r.name, r.evacuate)
        plan = result.plan
        host = pb.Host(name=r.name, state="removed")
        if result.removed is not None:
            host = convert.host(result.removed, {})
            host.state, host.reason = "removed", ""
            del host.vdus[:]
        return pb.HostAction(host=host, seconds=result.seconds,
                             evacuated=[f"{e.vnf_name}/{label}" for e in plan.evacuees for label in e.labels] if plan else [],
                             skipped=[f"{name}: {why}" for name, why in plan.skipped] if plan else [])

    def _host_ops(self, why: str = ""):
        if self.host_ops is None:
            raise FailedPrecondition(why or "this NFVO's VIM has one compute host: none can be failed or recovered",
                                     "name")
        return self.host_ops


RACKLESS = ("this stack is a single bridge (nfv up --hosts 1): it has no rack of compute hosts to add to or remove "
            "from; start one with nfv up --hosts 2")


def _chunks(requests):
    """The file's bytes from the messages after the metadata."""
    for n, request in enumerate(requests, 2):
        if request.WhichOneof("part") != "chunk":
            raise InvalidArgument(f"CreateImageRequest #{n}: only the first message carries metadata", "chunk")
        yield request.chunk


def serve(service: NfvoService, address: str, max_workers: int = 16,
          status_interval: float = 1.0, host_ops: Any = None) -> tuple[grpc.Server, int]:
    """Start serving on ``address`` (host:port; port 0 picks one); returns (server, port).
    While it serves, VNFFG status follows the controller and the Nfvo service's health its
    reachability (nfvo.api.health)."""
    health_servicer = health.HealthServicer()
    server, port = start_server(address, SERVICE_NAME, lambda server: nfvo_pb2_grpc.add_NfvoServicer_to_server(
        NfvoServicer(service, host_ops), server), [ErrorMappingInterceptor()], max_workers, MAX_MESSAGE,
        health_servicer=health_servicer)
    watch_status(server, service, health_servicer, SERVICE_NAME, status_interval)
    return server, port


def connect(address: str) -> nfvo_pb2_grpc.NfvoStub:
    return nfvo_pb2_grpc.NfvoStub(open_channel(address, MAX_MESSAGE))
