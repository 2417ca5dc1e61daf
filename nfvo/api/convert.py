"""Records → protobuf messages (hand-written: the read path is the API's hot path)."""

from __future__ import annotations

from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.model import ClassifierSpec, DescriptorRecord, Event, NsRecord, PathSpec, VimRecord, VnffgRecord
from nfvo.vnffg.spi import reverse_key
from vnfm.alarms import AlarmView
from vnfm.images import ImageRecord
from vnfm.model import VnfRecord
from vnfm.vim.base import ComputeHostInfo


def vim(r: VimRecord) -> pb.Vim:
    return pb.Vim(id=r.id, name=r.name, type=r.type, bridge=r.bridge, dpid=r.dpid, is_default=r.is_default,
                  ingress_port=r.ingress_port, egress_port=r.egress_port, description=r.description,
                  created_at=r.created_at)


def descriptor(r: DescriptorRecord, template: bool = True) -> pb.Descriptor:
    return pb.Descriptor(id=r.id, kind=r.kind, name=r.name, description=r.description, summary=r.summary,
                         template=r.template if template else "", created_at=r.created_at, vnf_type=r.vnf_type)


def vnf(r: VnfRecord) -> pb.Vnf:
    return pb.Vnf(id=r.id, name=r.name, vnfd_name=r.vnfd_name, status=str(r.status), reason=r.reason,
                  vnf_type=r.vnf_type or "", created_at=r.created_at,
                  vdus=[pb.Vdu(name=d.name, instance=d.instance, namespace=d.namespace, image=d.image,
                               pid=d.pid or 0, volume=d.volume or "", boot=d.boot, host=d.host,
                               cps=[pb.Cp(name=c.name, vdu=c.vdu, instance=c.instance, vl=c.vl, order=c.order,
                                          management=c.management, iface=c.iface, mac=c.mac, ip=c.ip,
                                          ovs_port=c.ovs_port, ofport=c.ofport, bridge=c.bridge) for c in d.cps])
                        for d in r.vdus])


def _path(r: VnffgRecord, p: PathSpec) -> pb.Path:
    return pb.Path(name=p.name, spi=r.spi(p.name) or 0, reverse_spi=r.spi(reverse_key(p.name)) or 0,
                   symmetrical=p.symmetrical, hops=[h.label() for h in p.hops],
                   classifiers=[c.name for c in p.classifiers])


def vnffg(r: VnffgRecord) -> pb.Vnffg:
    return pb.Vnffg(id=r.id, name=r.name, status=str(r.status), reason=r.reason, description=r.spec.description,
                    vnffgd_name=r.spec.vnffgd, vnf_mapping=dict(r.spec.vnf_mapping),
                    paths=[_path(r, p) for p in r.spec.paths], created_at=r.created_at, updated_at=r.updated_at,
                    generation=r.generation, failure_policy=r.spec.failure_policy)


def classifier(r: VnffgRecord, p: PathSpec, c: ClassifierSpec) -> pb.Classifier:
    return pb.Classifier(name=c.name, vnffg=r.name, path=p.name, match={k: str(v) for k, v in c.match},
                         status=str(r.status))


def ns(r: NsRecord) -> pb.Ns:
    return pb.Ns(id=r.id, name=r.name, nsd_name=r.nsd_name, status=str(r.status), reason=r.reason,
                 vnfs=dict(r.vnfs), vnffgs=list(r.vnffgs), created_at=r.created_at, description=r.description)


def event(e: Event) -> pb.Event:
    return pb.Event(time=e.time, kind=e.kind, id=e.id, name=e.name, old=e.old, new=e.new, reason=e.reason,
                    details=list(e.details))


def image(r: ImageRecord) -> pb.Image:
    return pb.Image(id=r.id, name=r.name, size=r.size, checksum=r.checksum, status=str(r.status),
                    disk_format=r.disk_format, properties=dict(r.properties), created_at=r.created_at,
                    builtin=r.builtin, rootfs=r.rootfs)


def alarm(a: AlarmView) -> pb.Alarm:
    spec, st = a.spec, a.status
    return pb.Alarm(id=a.id, name=spec.name, policy=spec.policy, vnf_id=a.vnf_id, vnf_name=a.vnf_name,
                    metric=spec.metric, comparison_operator=spec.operator, threshold=spec.threshold,
                    granularity=spec.granularity, evaluations=spec.evaluations, aggregation_method=spec.aggregation,
                    metadata=spec.group, vdus=list(spec.vdus),
                    actions=[pb.AlarmAction(kind=x.kind, target=x.target, direction=x.direction) for x in spec.actions],
                    state=st.state, since=st.since, value=st.value or 0.0, has_value=st.value is not None,
                    history=[pb.AlarmTransition(time=h.time, old=h.old, new=h.new, value=h.value or 0.0,
                                                has_value=h.value is not None, reason=h.reason) for h in a.history])


def host_vdus(vnfs: list[VnfRecord]) -> dict[str, str]:
    """Server key -> ``<vnf>/<vdu>`` (``#instance`` for scaled ones): how ``nfv host`` names VDUs."""
    return {d.key: f"{v.name}/{d.name}" + (f"#{d.instance}" if d.instance else "") for v in vnfs for d in v.vdus if d.key}


def host(h: ComputeHostInfo, vdus: dict[str, str]) -> pb.Host:
    return pb.Host(name=h.name, state="up" if h.up else "down", reason=h.reason, zone=h.zone, vcpus=h.vcpus,
                   mem_bytes=h.mem_bytes, disk_bytes=h.disk_bytes, used_vcpus=h.used_vcpus,
                   used_mem_bytes=h.used_mem_bytes, used_disk_bytes=h.used_disk_bytes,
                   vdus=[vdus.get(k, k) for k in h.servers], switch=h.switch, bridge=h.bridge, dpid=h.dpid,
                   host_id=h.host_id, underlay_ip=h.underlay_ip, netns=h.netns, uplink=h.uplink, gpe_port=h.gpe_port,
                   tunnel_ports=list(h.tunnel_ports))
