"""Build VNFFG specs from what users type or upload (pure).

Three sources, one value (``VnffgSpec``): ``--chain VNF2,VNF1[:CP]``, ``--chain fw,nat
--abstract-types`` (hops by VNF type, resolved at every render) and a VNFFGD with a VNF mapping.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable, Mapping

from descriptors import AclMatch, ForwardingPath, Vnffgd
from descriptors.acl import ACL_TO_MATCH, LOCATION_FIELDS, UNSUPPORTED
from descriptors.inputs import InputRef
from nfvo.errors import InvalidArgument
from nfvo.model import FAIL_CLOSED, FAILURE_POLICIES, ClassifierSpec, HopSpec, MatchItems, PathSpec, VnffgSpec
from sdn.document import MAX_HOPS
from sdn.match import ClassifierMatch, MatchError, compile_match
from sdn.match import parse_match as parse_match_fields

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MAX_MATCH_FIELDS = 34


def check_name(name: Any, field: str) -> str:
    """Names become parts of controller path names and SPI keys: keep them plain."""
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidArgument(f"{name!r} is not a valid name (letters, digits, '_', '.', '-'; "
                              "at most 128, starting with a letter or digit)", field)
    return name


def check_failure_policy(text: str, field: str = "failure_policy") -> str:
    """``fail-closed`` (also for "", the default) or ``fail-open``."""
    policy = (text or FAIL_CLOSED).strip().lower()
    if policy not in FAILURE_POLICIES:
        raise InvalidArgument(f"{text!r} is not a failure policy ({' or '.join(FAILURE_POLICIES)})", field)
    return policy


def parse_chain(text: str, *, abstract: bool = False, field: str = "chain") -> tuple[HopSpec, ...]:
    """``VNF2,VNF1`` or ``VNF2:CP3,VNF1``; with ``abstract`` the names are VNF types."""
    items = [t.strip() for t in (text or "").split(",")]
    if not text or not text.strip() or any(not t for t in items):
        raise InvalidArgument(f"expected a comma-separated list of VNF names, got {text!r}", field)
    if len(items) > MAX_HOPS:
        raise InvalidArgument(f"{len(items)} hops exceed the {MAX_HOPS} an NSH service index can count", field)
    hops = []
    for i, item in enumerate(items):
        target, _, cp = item.partition(":")
        where = f"{field}[{i}]"
        check_name(target, where)
        if cp:
            check_name(cp, f"{where}.cp")
        hops.append(HopSpec(cp=cp, vnf_type=target) if abstract else HopSpec((target,), cp))
    seen = [h.label() for h in hops]
    for i, label in enumerate(seen):
        if label in seen[:i]:
            raise InvalidArgument(f"{label} appears twice: a path may not loop back to a VNF", f"{field}[{i}]")
    return tuple(hops)


def parse_match(text: str, field: str = "match") -> MatchItems:
    """``tcp_dest=80,ip_proto=6`` → ordered (field, value) pairs; numbers become ints.

    Only the shape: ``classifier_spec`` parses the fields (Tacker ACL names and OpenFlow
    spellings alike) into the typed match.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument("expected FIELD=VALUE[,FIELD=VALUE...], got an empty match", field)
    raw: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(",")):
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not key or not value:
            raise InvalidArgument(f"{pair!r} is not FIELD=VALUE", field)
        if key in raw:
            raise InvalidArgument(f"{key} is given twice", field)
        raw[key] = value
    return match_items(raw, field)


def match_items(raw: Mapping[str, Any], field: str = "match") -> MatchItems:
    if not isinstance(raw, Mapping):
        raise InvalidArgument("must be a mapping of field: value", field)
    if len(raw) > MAX_MATCH_FIELDS:
        raise InvalidArgument(f"{len(raw)} fields; a match has at most {MAX_MATCH_FIELDS}", field)
    out = []
    for key, value in raw.items():
        if not isinstance(key, str) or not re.match(r"^[a-z][a-z0-9_]{0,40}$", key):
            raise InvalidArgument("not a match field name", f"{field}.{key}")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidArgument(f"expected a string or number, got {value!r}", f"{field}.{key}")
        if isinstance(value, str):
            if len(value) > 256:
                raise InvalidArgument("value too long", f"{field}.{key}")
            value = int(value) if value.isdigit() else value
        out.append((key, value))
    return tuple(out)


def classifier_spec(name: str, written: MatchItems, field: str = "match") -> ClassifierSpec:
    """The classifier as the operator wrote it → typed, once; errors name ``field.FIELD``."""
    match = dict(written)
    for key, why in UNSUPPORTED.items():
        if key in match:
            raise InvalidArgument(why, f"{field}.{key}")
    ingress, egress = (str(match.get(key, "")) for key in ("network_src_port_id", "network_dst_port_id"))
    try:
        parsed = parse_match_fields({k: v for k, v in match.items() if k not in LOCATION_FIELDS})
    except MatchError as exc:
        raise InvalidArgument(exc.message, f"{field}.{exc.field}") from None
    return ClassifierSpec(name, written, parsed, ingress, egress)


def acl_classifier(name: str, acl: AclMatch, field: str) -> ClassifierSpec:
    """A VNFFGD classifier: its checked ACL values become the typed match as they are (no
    strings in between); ``match`` keeps them in the plain form ``--match`` shows."""
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for key, value in acl.as_dict().items():
        if isinstance(value, InputRef):
            raise InvalidArgument(f"input {value.name!r} has no value: pass it with --param-file", f"{field}.{key}")
        if key in UNSUPPORTED:  # refused at onboarding already; a guard for hand-built ACLs
            raise InvalidArgument(UNSUPPORTED[key], f"{field}.{key}")
        if key in LOCATION_FIELDS:
            continue
        target = ACL_TO_MATCH[key]
        if target in values:
            raise InvalidArgument(f"given twice (also as {where[target]})", f"{field}.{key}")
        values[target], where[target] = value, key
    try:
        parsed = ClassifierMatch(**values)
        compile_match(parsed)  # cross-field checks (ports need TCP, UDP or SCTP...)
    except MatchError as exc:
        raise InvalidArgument(exc.message, f"{field}.{where.get(exc.field, exc.field)}") from None
    ports = acl.network_src_port_id, acl.network_dst_port_id
    return ClassifierSpec(name, acl_items(acl), parsed, *(str(p) if p is not None else "" for p in ports))


def acl_items(match: AclMatch) -> MatchItems:
    """A checked ACL in the plain form ``--match`` shows (ranges as ``N-M``, prefixes as text)."""
    out = []
    for key, value in match.as_dict().items():
        if isinstance(value, tuple):
            value = str(value[0]) if value[0] == value[1] else f"{value[0]}-{value[1]}"
        elif isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network, ipaddress.IPv6Address)):
            value = str(value)
        out.append((key, value))
    return tuple(out)


def spec_from_vnffgd(vnffgd: Vnffgd, mapping: Mapping[str, str]) -> VnffgSpec:
    """Every path of every graph (Tacker rendered only the first); see ``spec_from_paths``."""
    description = vnffgd.description if isinstance(vnffgd.description, str) else ""  # not an unresolved input
    return spec_from_paths(vnffgd.paths, mapping, vnffgd.name, description)


def spec_from_paths(fps: Iterable[ForwardingPath], mapping: Mapping[str, str], source: str,
                    description: str = "") -> VnffgSpec:
    """``mapping``: VNFD → VNF, covering every forwarder. Consecutive hops through one VNF share
    one service index: for an NSH-unaware VNF (``sfc_encap: false``, or not said) the first names
    its ingress CP (``cp``) and the second its egress CP (``egress_cp``; see
    ``render.unaware_cps``). ``sfc_encap`` not said on any of them stays None (the VNF decides)."""
    paths = []
    for fp in fps:
        where = f"{source}.{fp.name}"
        if isinstance(fp.path_id, InputRef):
            raise InvalidArgument(f"input {fp.path_id.name!r} has no value", f"{where}.id")
        hops: list[HopSpec] = []
        for i, hop in enumerate(fp.hops):
            vnf = mapping.get(hop.forwarder)
            if vnf is None:
                raise InvalidArgument(f"no VNF mapped for VNFD {hop.forwarder!r}", f"{where}.path[{i}].forwarder")
            if hops and hops[-1].vnfs == (vnf,):
                last = hops[-1]
                encap = _merged_encap(last.sfc_encap, hop.sfc_encap)
                egress = hop.capability if encap is not True and not last.egress_cp and hop.capability != last.cp \
                    else ""
                hops[-1] = HopSpec((vnf,), last.cp, "", encap, "" if encap else egress or last.egress_cp)
                continue
            hops.append(HopSpec((vnf,), hop.capability, "", hop.sfc_encap))
        classifiers = tuple(acl_classifier(c.name, c.match, f"{where}.classifiers[{c.name}]")
                            for c in fp.classifiers)
        paths.append(PathSpec(fp.name, tuple(hops), classifiers, fp.symmetrical,
                              fp.path_id if isinstance(fp.path_id, int) else None))
    return VnffgSpec(tuple(paths), source, tuple(sorted(mapping.items())), description)


def _merged_encap(first: bool | None, second: bool | None) -> bool | None:
    """Two hops through one VNF: either saying ``sfc_encap: false`` makes it unaware."""
    if False in (first, second):
        return False
    return True if True in (first, second) else None


def parse_mapping(text: str, field: str = "vnf_mapping") -> dict[str, str]:
    """Tacker's ``VNFD1:VNF1,VNFD2:VNF2``."""
    out: dict[str, str] = {}
    for i, item in enumerate(t.strip() for t in (text or "").split(",") if t.strip()):
        vnfd, sep, vnf = item.partition(":")
        if not sep or not vnfd or not vnf:
            raise InvalidArgument(f"{item!r} is not VNFD:VNF", f"{field}[{i}]")
        out[vnfd.strip()] = vnf.strip()
    return out
