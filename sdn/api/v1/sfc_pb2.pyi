from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PathCondition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PATH_CONDITION_UNSPECIFIED: _ClassVar[PathCondition]
    PATH_ACTIVE: _ClassVar[PathCondition]
    PATH_DEGRADED: _ClassVar[PathCondition]
    PATH_PENDING: _ClassVar[PathCondition]
    PATH_DOWN: _ClassVar[PathCondition]
PATH_CONDITION_UNSPECIFIED: PathCondition
PATH_ACTIVE: PathCondition
PATH_DEGRADED: PathCondition
PATH_PENDING: PathCondition
PATH_DOWN: PathCondition

class Switch(_message.Message):
    __slots__ = ("name", "dpid", "ovsdb", "host_id", "tunnel_ip", "gpe_port", "tunnel_ports")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DPID_FIELD_NUMBER: _ClassVar[int]
    OVSDB_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    TUNNEL_IP_FIELD_NUMBER: _ClassVar[int]
    GPE_PORT_FIELD_NUMBER: _ClassVar[int]
    TUNNEL_PORTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    dpid: int
    ovsdb: str
    host_id: int
    tunnel_ip: str
    gpe_port: str
    tunnel_ports: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., dpid: _Optional[int] = ..., ovsdb: _Optional[str] = ..., host_id: _Optional[int] = ..., tunnel_ip: _Optional[str] = ..., gpe_port: _Optional[str] = ..., tunnel_ports: _Optional[_Iterable[str]] = ...) -> None: ...

class Probes(_message.Message):
    __slots__ = ("ipfix_targets", "collector_set_base", "probability", "ipfix_cache_active_timeout", "sflow_targets", "sflow_sampling", "sflow_polling", "sflow_header", "sflow_agent", "sflow_agent_tunnel_ip")
    IPFIX_TARGETS_FIELD_NUMBER: _ClassVar[int]
    COLLECTOR_SET_BASE_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    IPFIX_CACHE_ACTIVE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    SFLOW_TARGETS_FIELD_NUMBER: _ClassVar[int]
    SFLOW_SAMPLING_FIELD_NUMBER: _ClassVar[int]
    SFLOW_POLLING_FIELD_NUMBER: _ClassVar[int]
    SFLOW_HEADER_FIELD_NUMBER: _ClassVar[int]
    SFLOW_AGENT_FIELD_NUMBER: _ClassVar[int]
    SFLOW_AGENT_TUNNEL_IP_FIELD_NUMBER: _ClassVar[int]
    ipfix_targets: _containers.RepeatedScalarFieldContainer[str]
    collector_set_base: int
    probability: int
    ipfix_cache_active_timeout: int
    sflow_targets: _containers.RepeatedScalarFieldContainer[str]
    sflow_sampling: int
    sflow_polling: int
    sflow_header: int
    sflow_agent: str
    sflow_agent_tunnel_ip: bool
    def __init__(self, ipfix_targets: _Optional[_Iterable[str]] = ..., collector_set_base: _Optional[int] = ..., probability: _Optional[int] = ..., ipfix_cache_active_timeout: _Optional[int] = ..., sflow_targets: _Optional[_Iterable[str]] = ..., sflow_sampling: _Optional[int] = ..., sflow_polling: _Optional[int] = ..., sflow_header: _Optional[int] = ..., sflow_agent: _Optional[str] = ..., sflow_agent_tunnel_ip: _Optional[bool] = ...) -> None: ...

class SfInstance(_message.Message):
    __slots__ = ("switch", "port", "egress_port", "mac", "weight", "slots")
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    EGRESS_PORT_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    switch: str
    port: str
    egress_port: str
    mac: bytes
    weight: int
    slots: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, switch: _Optional[str] = ..., port: _Optional[str] = ..., egress_port: _Optional[str] = ..., mac: _Optional[bytes] = ..., weight: _Optional[int] = ..., slots: _Optional[_Iterable[int]] = ...) -> None: ...

class ServiceFunction(_message.Message):
    __slots__ = ("name", "instances", "nsh_unaware")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NSH_UNAWARE_FIELD_NUMBER: _ClassVar[int]
    name: str
    instances: _containers.RepeatedCompositeFieldContainer[SfInstance]
    nsh_unaware: bool
    def __init__(self, name: _Optional[str] = ..., instances: _Optional[_Iterable[_Union[SfInstance, _Mapping]]] = ..., nsh_unaware: _Optional[bool] = ...) -> None: ...

class IpPrefix(_message.Message):
    __slots__ = ("address", "prefix_length")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PREFIX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    prefix_length: int
    def __init__(self, address: _Optional[bytes] = ..., prefix_length: _Optional[int] = ...) -> None: ...

class PortRange(_message.Message):
    __slots__ = ("low", "high")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    low: int
    high: int
    def __init__(self, low: _Optional[int] = ..., high: _Optional[int] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("eth_type", "eth_src", "eth_dst", "vlan_vid", "vlan_pcp", "ip_src", "ip_dst", "ip_proto", "ip_dscp", "ip_ecn", "ipv6_flabel", "src_port", "dst_port", "icmpv4_type", "icmpv4_code", "icmpv6_type", "icmpv6_code", "mpls_label", "mpls_tc", "mpls_bos", "arp_op", "arp_spa", "arp_tpa", "arp_sha", "arp_tha", "ipv6_nd_target", "ipv6_nd_sll", "ipv6_nd_tll")
    ETH_TYPE_FIELD_NUMBER: _ClassVar[int]
    ETH_SRC_FIELD_NUMBER: _ClassVar[int]
    ETH_DST_FIELD_NUMBER: _ClassVar[int]
    VLAN_VID_FIELD_NUMBER: _ClassVar[int]
    VLAN_PCP_FIELD_NUMBER: _ClassVar[int]
    IP_SRC_FIELD_NUMBER: _ClassVar[int]
    IP_DST_FIELD_NUMBER: _ClassVar[int]
    IP_PROTO_FIELD_NUMBER: _ClassVar[int]
    IP_DSCP_FIELD_NUMBER: _ClassVar[int]
    IP_ECN_FIELD_NUMBER: _ClassVar[int]
    IPV6_FLABEL_FIELD_NUMBER: _ClassVar[int]
    SRC_PORT_FIELD_NUMBER: _ClassVar[int]
    DST_PORT_FIELD_NUMBER: _ClassVar[int]
    ICMPV4_TYPE_FIELD_NUMBER: _ClassVar[int]
    ICMPV4_CODE_FIELD_NUMBER: _ClassVar[int]
    ICMPV6_TYPE_FIELD_NUMBER: _ClassVar[int]
    ICMPV6_CODE_FIELD_NUMBER: _ClassVar[int]
    MPLS_LABEL_FIELD_NUMBER: _ClassVar[int]
    MPLS_TC_FIELD_NUMBER: _ClassVar[int]
    MPLS_BOS_FIELD_NUMBER: _ClassVar[int]
    ARP_OP_FIELD_NUMBER: _ClassVar[int]
    ARP_SPA_FIELD_NUMBER: _ClassVar[int]
    ARP_TPA_FIELD_NUMBER: _ClassVar[int]
    ARP_SHA_FIELD_NUMBER: _ClassVar[int]
    ARP_THA_FIELD_NUMBER: _ClassVar[int]
    IPV6_ND_TARGET_FIELD_NUMBER: _ClassVar[int]
    IPV6_ND_SLL_FIELD_NUMBER: _ClassVar[int]
    IPV6_ND_TLL_FIELD_NUMBER: _ClassVar[int]
    eth_type: int
    eth_src: bytes
    eth_dst: bytes
    vlan_vid: int
    vlan_pcp: int
    ip_src: IpPrefix
    ip_dst: IpPrefix
    ip_proto: int
    ip_dscp: int
    ip_ecn: int
    ipv6_flabel: int
    src_port: PortRange
    dst_port: PortRange
    icmpv4_type: int
    icmpv4_code: int
    icmpv6_type: int
    icmpv6_code: int
    mpls_label: int
    mpls_tc: int
    mpls_bos: int
    arp_op: int
    arp_spa: IpPrefix
    arp_tpa: IpPrefix
    arp_sha: bytes
    arp_tha: bytes
    ipv6_nd_target: bytes
    ipv6_nd_sll: bytes
    ipv6_nd_tll: bytes
    def __init__(self, eth_type: _Optional[int] = ..., eth_src: _Optional[bytes] = ..., eth_dst: _Optional[bytes] = ..., vlan_vid: _Optional[int] = ..., vlan_pcp: _Optional[int] = ..., ip_src: _Optional[_Union[IpPrefix, _Mapping]] = ..., ip_dst: _Optional[_Union[IpPrefix, _Mapping]] = ..., ip_proto: _Optional[int] = ..., ip_dscp: _Optional[int] = ..., ip_ecn: _Optional[int] = ..., ipv6_flabel: _Optional[int] = ..., src_port: _Optional[_Union[PortRange, _Mapping]] = ..., dst_port: _Optional[_Union[PortRange, _Mapping]] = ..., icmpv4_type: _Optional[int] = ..., icmpv4_code: _Optional[int] = ..., icmpv6_type: _Optional[int] = ..., icmpv6_code: _Optional[int] = ..., mpls_label: _Optional[int] = ..., mpls_tc: _Optional[int] = ..., mpls_bos: _Optional[int] = ..., arp_op: _Optional[int] = ..., arp_spa: _Optional[_Union[IpPrefix, _Mapping]] = ..., arp_tpa: _Optional[_Union[IpPrefix, _Mapping]] = ..., arp_sha: _Optional[bytes] = ..., arp_tha: _Optional[bytes] = ..., ipv6_nd_target: _Optional[bytes] = ..., ipv6_nd_sll: _Optional[bytes] = ..., ipv6_nd_tll: _Optional[bytes] = ...) -> None: ...

class Classifier(_message.Message):
    __slots__ = ("name", "switch", "in_port", "match", "priority", "destination")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    IN_PORT_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    switch: str
    in_port: str
    match: Match
    priority: int
    destination: Destination
    def __init__(self, name: _Optional[str] = ..., switch: _Optional[str] = ..., in_port: _Optional[str] = ..., match: _Optional[_Union[Match, _Mapping]] = ..., priority: _Optional[int] = ..., destination: _Optional[_Union[Destination, _Mapping]] = ...) -> None: ...

class Destination(_message.Message):
    __slots__ = ("switch", "port")
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    switch: str
    port: str
    def __init__(self, switch: _Optional[str] = ..., port: _Optional[str] = ...) -> None: ...

class ServicePath(_message.Message):
    __slots__ = ("name", "spi", "hops", "classifiers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPI_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    spi: int
    hops: _containers.RepeatedScalarFieldContainer[str]
    classifiers: _containers.RepeatedCompositeFieldContainer[Classifier]
    def __init__(self, name: _Optional[str] = ..., spi: _Optional[int] = ..., hops: _Optional[_Iterable[str]] = ..., classifiers: _Optional[_Iterable[_Union[Classifier, _Mapping]]] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("switches", "service_functions", "service_function_paths", "probes")
    SWITCHES_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FUNCTIONS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FUNCTION_PATHS_FIELD_NUMBER: _ClassVar[int]
    PROBES_FIELD_NUMBER: _ClassVar[int]
    switches: _containers.RepeatedCompositeFieldContainer[Switch]
    service_functions: _containers.RepeatedCompositeFieldContainer[ServiceFunction]
    service_function_paths: _containers.RepeatedCompositeFieldContainer[ServicePath]
    probes: Probes
    def __init__(self, switches: _Optional[_Iterable[_Union[Switch, _Mapping]]] = ..., service_functions: _Optional[_Iterable[_Union[ServiceFunction, _Mapping]]] = ..., service_function_paths: _Optional[_Iterable[_Union[ServicePath, _Mapping]]] = ..., probes: _Optional[_Union[Probes, _Mapping]] = ...) -> None: ...

class ApplyDocumentRequest(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class UpsertPathsRequest(_message.Message):
    __slots__ = ("paths", "remove")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedCompositeFieldContainer[ServicePath]
    remove: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, paths: _Optional[_Iterable[_Union[ServicePath, _Mapping]]] = ..., remove: _Optional[_Iterable[str]] = ...) -> None: ...

class SwitchChange(_message.Message):
    __slots__ = ("dpid", "changes")
    DPID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    dpid: int
    changes: int
    def __init__(self, dpid: _Optional[int] = ..., changes: _Optional[int] = ...) -> None: ...

class ApplyReply(_message.Message):
    __slots__ = ("generation", "switches", "seconds")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    SWITCHES_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    generation: int
    switches: _containers.RepeatedCompositeFieldContainer[SwitchChange]
    seconds: float
    def __init__(self, generation: _Optional[int] = ..., switches: _Optional[_Iterable[_Union[SwitchChange, _Mapping]]] = ..., seconds: _Optional[float] = ...) -> None: ...

class GetStateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PathSummary(_message.Message):
    __slots__ = ("name", "spi", "hops", "classifiers", "switch")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPI_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIERS_FIELD_NUMBER: _ClassVar[int]
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    name: str
    spi: int
    hops: _containers.RepeatedScalarFieldContainer[str]
    classifiers: _containers.RepeatedScalarFieldContainer[str]
    switch: str
    def __init__(self, name: _Optional[str] = ..., spi: _Optional[int] = ..., hops: _Optional[_Iterable[str]] = ..., classifiers: _Optional[_Iterable[str]] = ..., switch: _Optional[str] = ...) -> None: ...

class SwitchStatus(_message.Message):
    __slots__ = ("name", "dpid", "connected", "generation", "flows", "groups", "error", "probes_error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DPID_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PROBES_ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    dpid: int
    connected: bool
    generation: int
    flows: int
    groups: int
    error: str
    probes_error: str
    def __init__(self, name: _Optional[str] = ..., dpid: _Optional[int] = ..., connected: _Optional[bool] = ..., generation: _Optional[int] = ..., flows: _Optional[int] = ..., groups: _Optional[int] = ..., error: _Optional[str] = ..., probes_error: _Optional[str] = ...) -> None: ...

class PathStatus(_message.Message):
    __slots__ = ("name", "switch", "condition", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    switch: str
    condition: PathCondition
    reason: str
    def __init__(self, name: _Optional[str] = ..., switch: _Optional[str] = ..., condition: _Optional[_Union[PathCondition, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class GetPathStatusRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class PathStatusList(_message.Message):
    __slots__ = ("generation", "paths")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    generation: int
    paths: _containers.RepeatedCompositeFieldContainer[PathStatus]
    def __init__(self, generation: _Optional[int] = ..., paths: _Optional[_Iterable[_Union[PathStatus, _Mapping]]] = ...) -> None: ...

class State(_message.Message):
    __slots__ = ("generation", "paths", "switches", "document", "path_status")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    SWITCHES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PATH_STATUS_FIELD_NUMBER: _ClassVar[int]
    generation: int
    paths: _containers.RepeatedCompositeFieldContainer[PathSummary]
    switches: _containers.RepeatedCompositeFieldContainer[SwitchStatus]
    document: Document
    path_status: _containers.RepeatedCompositeFieldContainer[PathStatus]
    def __init__(self, generation: _Optional[int] = ..., paths: _Optional[_Iterable[_Union[PathSummary, _Mapping]]] = ..., switches: _Optional[_Iterable[_Union[SwitchStatus, _Mapping]]] = ..., document: _Optional[_Union[Document, _Mapping]] = ..., path_status: _Optional[_Iterable[_Union[PathStatus, _Mapping]]] = ...) -> None: ...

class PersistedState(_message.Message):
    __slots__ = ("generation", "document")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    generation: int
    document: Document
    def __init__(self, generation: _Optional[int] = ..., document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class DisconnectSwitchRequest(_message.Message):
    __slots__ = ("dpid",)
    DPID_FIELD_NUMBER: _ClassVar[int]
    dpid: int
    def __init__(self, dpid: _Optional[int] = ...) -> None: ...

class DisconnectSwitchReply(_message.Message):
    __slots__ = ("was_connected",)
    WAS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    was_connected: bool
    def __init__(self, was_connected: _Optional[bool] = ...) -> None: ...
