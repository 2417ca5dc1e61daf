from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRequest(_message.Message):
    __slots__ = ("name", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    def __init__(self, kind: _Optional[str] = ...) -> None: ...

class Vim(_message.Message):
    __slots__ = ("id", "name", "type", "bridge", "dpid", "is_default", "ingress_port", "egress_port", "description", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    BRIDGE_FIELD_NUMBER: _ClassVar[int]
    DPID_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    INGRESS_PORT_FIELD_NUMBER: _ClassVar[int]
    EGRESS_PORT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    type: str
    bridge: str
    dpid: int
    is_default: bool
    ingress_port: str
    egress_port: str
    description: str
    created_at: float
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., bridge: _Optional[str] = ..., dpid: _Optional[int] = ..., is_default: _Optional[bool] = ..., ingress_port: _Optional[str] = ..., egress_port: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[float] = ...) -> None: ...

class CreateVimRequest(_message.Message):
    __slots__ = ("name", "type", "bridge", "dpid", "is_default", "ingress_port", "egress_port", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    BRIDGE_FIELD_NUMBER: _ClassVar[int]
    DPID_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    INGRESS_PORT_FIELD_NUMBER: _ClassVar[int]
    EGRESS_PORT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    bridge: str
    dpid: int
    is_default: bool
    ingress_port: str
    egress_port: str
    description: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., bridge: _Optional[str] = ..., dpid: _Optional[int] = ..., is_default: _Optional[bool] = ..., ingress_port: _Optional[str] = ..., egress_port: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class UpdateVimRequest(_message.Message):
    __slots__ = ("name", "is_default", "ingress_port", "egress_port", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    INGRESS_PORT_FIELD_NUMBER: _ClassVar[int]
    EGRESS_PORT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    is_default: bool
    ingress_port: str
    egress_port: str
    description: str
    def __init__(self, name: _Optional[str] = ..., is_default: _Optional[bool] = ..., ingress_port: _Optional[str] = ..., egress_port: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class VimList(_message.Message):
    __slots__ = ("vims",)
    VIMS_FIELD_NUMBER: _ClassVar[int]
    vims: _containers.RepeatedCompositeFieldContainer[Vim]
    def __init__(self, vims: _Optional[_Iterable[_Union[Vim, _Mapping]]] = ...) -> None: ...

class Descriptor(_message.Message):
    __slots__ = ("id", "kind", "name", "description", "summary", "template", "created_at", "vnf_type")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VNF_TYPE_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    name: str
    description: str
    summary: str
    template: str
    created_at: float
    vnf_type: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., summary: _Optional[str] = ..., template: _Optional[str] = ..., created_at: _Optional[float] = ..., vnf_type: _Optional[str] = ...) -> None: ...

class CreateDescriptorRequest(_message.Message):
    __slots__ = ("kind", "name", "template", "description")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    template: str
    description: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., template: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class UpdateDescriptorRequest(_message.Message):
    __slots__ = ("kind", "name", "description")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    description: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class DescriptorList(_message.Message):
    __slots__ = ("descriptors",)
    DESCRIPTORS_FIELD_NUMBER: _ClassVar[int]
    descriptors: _containers.RepeatedCompositeFieldContainer[Descriptor]
    def __init__(self, descriptors: _Optional[_Iterable[_Union[Descriptor, _Mapping]]] = ...) -> None: ...

class Cp(_message.Message):
    __slots__ = ("name", "vdu", "instance", "vl", "order", "management", "iface", "mac", "ip", "ovs_port", "ofport", "bridge")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VDU_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    VL_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    MANAGEMENT_FIELD_NUMBER: _ClassVar[int]
    IFACE_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    OVS_PORT_FIELD_NUMBER: _ClassVar[int]
    OFPORT_FIELD_NUMBER: _ClassVar[int]
    BRIDGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    vdu: str
    instance: int
    vl: str
    order: int
    management: bool
    iface: str
    mac: str
    ip: str
    ovs_port: str
    ofport: int
    bridge: str
    def __init__(self, name: _Optional[str] = ..., vdu: _Optional[str] = ..., instance: _Optional[int] = ..., vl: _Optional[str] = ..., order: _Optional[int] = ..., management: _Optional[bool] = ..., iface: _Optional[str] = ..., mac: _Optional[str] = ..., ip: _Optional[str] = ..., ovs_port: _Optional[str] = ..., ofport: _Optional[int] = ..., bridge: _Optional[str] = ...) -> None: ...

class Vdu(_message.Message):
    __slots__ = ("name", "instance", "namespace", "image", "pid", "cps", "volume", "boot", "host")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    CPS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    BOOT_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    name: str
    instance: int
    namespace: str
    image: str
    pid: int
    cps: _containers.RepeatedCompositeFieldContainer[Cp]
    volume: str
    boot: str
    host: str
    def __init__(self, name: _Optional[str] = ..., instance: _Optional[int] = ..., namespace: _Optional[str] = ..., image: _Optional[str] = ..., pid: _Optional[int] = ..., cps: _Optional[_Iterable[_Union[Cp, _Mapping]]] = ..., volume: _Optional[str] = ..., boot: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class Vnf(_message.Message):
    __slots__ = ("id", "name", "vnfd_name", "status", "reason", "vnf_type", "created_at", "vdus")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VNFD_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VNF_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VDUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    vnfd_name: str
    status: str
    reason: str
    vnf_type: str
    created_at: float
    vdus: _containers.RepeatedCompositeFieldContainer[Vdu]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., vnfd_name: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., vnf_type: _Optional[str] = ..., created_at: _Optional[float] = ..., vdus: _Optional[_Iterable[_Union[Vdu, _Mapping]]] = ...) -> None: ...

class CreateVnfRequest(_message.Message):
    __slots__ = ("name", "vnfd_name", "params_yaml", "vim_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VNFD_NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_YAML_FIELD_NUMBER: _ClassVar[int]
    VIM_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    vnfd_name: str
    params_yaml: str
    vim_name: str
    def __init__(self, name: _Optional[str] = ..., vnfd_name: _Optional[str] = ..., params_yaml: _Optional[str] = ..., vim_name: _Optional[str] = ...) -> None: ...

class UpdateVnfRequest(_message.Message):
    __slots__ = ("name", "params_yaml")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_YAML_FIELD_NUMBER: _ClassVar[int]
    name: str
    params_yaml: str
    def __init__(self, name: _Optional[str] = ..., params_yaml: _Optional[str] = ...) -> None: ...

class HealVnfRequest(_message.Message):
    __slots__ = ("name", "vdu")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VDU_FIELD_NUMBER: _ClassVar[int]
    name: str
    vdu: str
    def __init__(self, name: _Optional[str] = ..., vdu: _Optional[str] = ...) -> None: ...

class ScaleVnfRequest(_message.Message):
    __slots__ = ("name", "policy", "direction")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    policy: str
    direction: str
    def __init__(self, name: _Optional[str] = ..., policy: _Optional[str] = ..., direction: _Optional[str] = ...) -> None: ...

class ExecVnfRequest(_message.Message):
    __slots__ = ("name", "vdu", "argv", "timeout")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VDU_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    vdu: str
    argv: _containers.RepeatedScalarFieldContainer[str]
    timeout: float
    def __init__(self, name: _Optional[str] = ..., vdu: _Optional[str] = ..., argv: _Optional[_Iterable[str]] = ..., timeout: _Optional[float] = ...) -> None: ...

class ExecReply(_message.Message):
    __slots__ = ("returncode", "stdout", "stderr")
    RETURNCODE_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    returncode: int
    stdout: str
    stderr: str
    def __init__(self, returncode: _Optional[int] = ..., stdout: _Optional[str] = ..., stderr: _Optional[str] = ...) -> None: ...

class GetVnfLogRequest(_message.Message):
    __slots__ = ("name", "vdu", "instance")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VDU_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    vdu: str
    instance: int
    def __init__(self, name: _Optional[str] = ..., vdu: _Optional[str] = ..., instance: _Optional[int] = ...) -> None: ...

class VnfLog(_message.Message):
    __slots__ = ("vdu", "text")
    VDU_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    vdu: str
    text: str
    def __init__(self, vdu: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class VnfList(_message.Message):
    __slots__ = ("vnfs",)
    VNFS_FIELD_NUMBER: _ClassVar[int]
    vnfs: _containers.RepeatedCompositeFieldContainer[Vnf]
    def __init__(self, vnfs: _Optional[_Iterable[_Union[Vnf, _Mapping]]] = ...) -> None: ...

class Path(_message.Message):
    __slots__ = ("name", "spi", "reverse_spi", "symmetrical", "hops", "classifiers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPI_FIELD_NUMBER: _ClassVar[int]
    REVERSE_SPI_FIELD_NUMBER: _ClassVar[int]
    SYMMETRICAL_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    spi: int
    reverse_spi: int
    symmetrical: bool
    hops: _containers.RepeatedScalarFieldContainer[str]
    classifiers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., spi: _Optional[int] = ..., reverse_spi: _Optional[int] = ..., symmetrical: _Optional[bool] = ..., hops: _Optional[_Iterable[str]] = ..., classifiers: _Optional[_Iterable[str]] = ...) -> None: ...

class Vnffg(_message.Message):
    __slots__ = ("id", "name", "status", "reason", "description", "vnffgd_name", "vnf_mapping", "paths", "created_at", "updated_at", "generation", "failure_policy")
    class VnfMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VNFFGD_NAME_FIELD_NUMBER: _ClassVar[int]
    VNF_MAPPING_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    FAILURE_POLICY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    status: str
    reason: str
    description: str
    vnffgd_name: str
    vnf_mapping: _containers.ScalarMap[str, str]
    paths: _containers.RepeatedCompositeFieldContainer[Path]
    created_at: float
    updated_at: float
    generation: int
    failure_policy: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., description: _Optional[str] = ..., vnffgd_name: _Optional[str] = ..., vnf_mapping: _Optional[_Mapping[str, str]] = ..., paths: _Optional[_Iterable[_Union[Path, _Mapping]]] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., generation: _Optional[int] = ..., failure_policy: _Optional[str] = ...) -> None: ...

class CreateVnffgRequest(_message.Message):
    __slots__ = ("name", "chain", "abstract_types", "symmetrical", "vnffgd_name", "vnf_mapping", "params_yaml", "description", "no_wait", "failure_policy")
    class VnfMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    ABSTRACT_TYPES_FIELD_NUMBER: _ClassVar[int]
    SYMMETRICAL_FIELD_NUMBER: _ClassVar[int]
    VNFFGD_NAME_FIELD_NUMBER: _ClassVar[int]
    VNF_MAPPING_FIELD_NUMBER: _ClassVar[int]
    PARAMS_YAML_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NO_WAIT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    chain: str
    abstract_types: bool
    symmetrical: bool
    vnffgd_name: str
    vnf_mapping: _containers.ScalarMap[str, str]
    params_yaml: str
    description: str
    no_wait: bool
    failure_policy: str
    def __init__(self, name: _Optional[str] = ..., chain: _Optional[str] = ..., abstract_types: _Optional[bool] = ..., symmetrical: _Optional[bool] = ..., vnffgd_name: _Optional[str] = ..., vnf_mapping: _Optional[_Mapping[str, str]] = ..., params_yaml: _Optional[str] = ..., description: _Optional[str] = ..., no_wait: _Optional[bool] = ..., failure_policy: _Optional[str] = ...) -> None: ...

class UpdateVnffgRequest(_message.Message):
    __slots__ = ("name", "chain", "abstract_types", "symmetrical", "vnf_mapping", "description", "no_wait", "failure_policy")
    class VnfMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    ABSTRACT_TYPES_FIELD_NUMBER: _ClassVar[int]
    SYMMETRICAL_FIELD_NUMBER: _ClassVar[int]
    VNF_MAPPING_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NO_WAIT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    chain: str
    abstract_types: bool
    symmetrical: bool
    vnf_mapping: _containers.ScalarMap[str, str]
    description: str
    no_wait: bool
    failure_policy: str
    def __init__(self, name: _Optional[str] = ..., chain: _Optional[str] = ..., abstract_types: _Optional[bool] = ..., symmetrical: _Optional[bool] = ..., vnf_mapping: _Optional[_Mapping[str, str]] = ..., description: _Optional[str] = ..., no_wait: _Optional[bool] = ..., failure_policy: _Optional[str] = ...) -> None: ...

class VnffgList(_message.Message):
    __slots__ = ("vnffgs",)
    VNFFGS_FIELD_NUMBER: _ClassVar[int]
    vnffgs: _containers.RepeatedCompositeFieldContainer[Vnffg]
    def __init__(self, vnffgs: _Optional[_Iterable[_Union[Vnffg, _Mapping]]] = ...) -> None: ...

class Classifier(_message.Message):
    __slots__ = ("name", "vnffg", "path", "match", "status")
    class MatchEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VNFFG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    name: str
    vnffg: str
    path: str
    match: _containers.ScalarMap[str, str]
    status: str
    def __init__(self, name: _Optional[str] = ..., vnffg: _Optional[str] = ..., path: _Optional[str] = ..., match: _Optional[_Mapping[str, str]] = ..., status: _Optional[str] = ...) -> None: ...

class CreateClassifierRequest(_message.Message):
    __slots__ = ("name", "chain", "match", "path", "no_wait")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    NO_WAIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    chain: str
    match: str
    path: str
    no_wait: bool
    def __init__(self, name: _Optional[str] = ..., chain: _Optional[str] = ..., match: _Optional[str] = ..., path: _Optional[str] = ..., no_wait: _Optional[bool] = ...) -> None: ...

class UpdateClassifierRequest(_message.Message):
    __slots__ = ("name", "match", "no_wait")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    NO_WAIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    match: str
    no_wait: bool
    def __init__(self, name: _Optional[str] = ..., match: _Optional[str] = ..., no_wait: _Optional[bool] = ...) -> None: ...

class ClassifierList(_message.Message):
    __slots__ = ("classifiers",)
    CLASSIFIERS_FIELD_NUMBER: _ClassVar[int]
    classifiers: _containers.RepeatedCompositeFieldContainer[Classifier]
    def __init__(self, classifiers: _Optional[_Iterable[_Union[Classifier, _Mapping]]] = ...) -> None: ...

class Ns(_message.Message):
    __slots__ = ("id", "name", "nsd_name", "status", "reason", "vnfs", "vnffgs", "created_at", "description")
    class VnfsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NSD_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VNFS_FIELD_NUMBER: _ClassVar[int]
    VNFFGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    nsd_name: str
    status: str
    reason: str
    vnfs: _containers.ScalarMap[str, str]
    vnffgs: _containers.RepeatedScalarFieldContainer[str]
    created_at: float
    description: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., nsd_name: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., vnfs: _Optional[_Mapping[str, str]] = ..., vnffgs: _Optional[_Iterable[str]] = ..., created_at: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...

class CreateNsRequest(_message.Message):
    __slots__ = ("name", "nsd_name", "params_yaml", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NSD_NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_YAML_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    nsd_name: str
    params_yaml: str
    description: str
    def __init__(self, name: _Optional[str] = ..., nsd_name: _Optional[str] = ..., params_yaml: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class UpdateNsRequest(_message.Message):
    __slots__ = ("name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class NsList(_message.Message):
    __slots__ = ("ns",)
    NS_FIELD_NUMBER: _ClassVar[int]
    ns: _containers.RepeatedCompositeFieldContainer[Ns]
    def __init__(self, ns: _Optional[_Iterable[_Union[Ns, _Mapping]]] = ...) -> None: ...

class ListAlarmsRequest(_message.Message):
    __slots__ = ("vnf",)
    VNF_FIELD_NUMBER: _ClassVar[int]
    vnf: str
    def __init__(self, vnf: _Optional[str] = ...) -> None: ...

class AlarmAction(_message.Message):
    __slots__ = ("kind", "target", "direction")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    target: str
    direction: str
    def __init__(self, kind: _Optional[str] = ..., target: _Optional[str] = ..., direction: _Optional[str] = ...) -> None: ...

class AlarmTransition(_message.Message):
    __slots__ = ("time", "old", "new", "value", "has_value", "reason")
    TIME_FIELD_NUMBER: _ClassVar[int]
    OLD_FIELD_NUMBER: _ClassVar[int]
    NEW_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    HAS_VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    time: float
    old: str
    new: str
    value: float
    has_value: bool
    reason: str
    def __init__(self, time: _Optional[float] = ..., old: _Optional[str] = ..., new: _Optional[str] = ..., value: _Optional[float] = ..., has_value: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class Alarm(_message.Message):
    __slots__ = ("id", "name", "policy", "vnf_id", "vnf_name", "metric", "comparison_operator", "threshold", "granularity", "evaluations", "aggregation_method", "metadata", "vdus", "actions", "state", "since", "value", "has_value", "history")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    VNF_ID_FIELD_NUMBER: _ClassVar[int]
    VNF_NAME_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    VDUS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    HAS_VALUE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    policy: str
    vnf_id: str
    vnf_name: str
    metric: str
    comparison_operator: str
    threshold: float
    granularity: float
    evaluations: int
    aggregation_method: str
    metadata: str
    vdus: _containers.RepeatedScalarFieldContainer[str]
    actions: _containers.RepeatedCompositeFieldContainer[AlarmAction]
    state: str
    since: float
    value: float
    has_value: bool
    history: _containers.RepeatedCompositeFieldContainer[AlarmTransition]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., policy: _Optional[str] = ..., vnf_id: _Optional[str] = ..., vnf_name: _Optional[str] = ..., metric: _Optional[str] = ..., comparison_operator: _Optional[str] = ..., threshold: _Optional[float] = ..., granularity: _Optional[float] = ..., evaluations: _Optional[int] = ..., aggregation_method: _Optional[str] = ..., metadata: _Optional[str] = ..., vdus: _Optional[_Iterable[str]] = ..., actions: _Optional[_Iterable[_Union[AlarmAction, _Mapping]]] = ..., state: _Optional[str] = ..., since: _Optional[float] = ..., value: _Optional[float] = ..., has_value: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[AlarmTransition, _Mapping]]] = ...) -> None: ...

class AlarmList(_message.Message):
    __slots__ = ("alarms",)
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[Alarm]
    def __init__(self, alarms: _Optional[_Iterable[_Union[Alarm, _Mapping]]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("kinds", "name")
    KINDS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedScalarFieldContainer[str]
    name: str
    def __init__(self, kinds: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("time", "kind", "id", "name", "old", "new", "reason", "details")
    TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OLD_FIELD_NUMBER: _ClassVar[int]
    NEW_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    time: float
    kind: str
    id: str
    name: str
    old: str
    new: str
    reason: str
    details: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, time: _Optional[float] = ..., kind: _Optional[str] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., old: _Optional[str] = ..., new: _Optional[str] = ..., reason: _Optional[str] = ..., details: _Optional[_Iterable[str]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("id", "name", "size", "checksum", "status", "disk_format", "properties", "created_at", "builtin", "rootfs")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DISK_FORMAT_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    ROOTFS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    size: int
    checksum: str
    status: str
    disk_format: str
    properties: _containers.ScalarMap[str, str]
    created_at: float
    builtin: bool
    rootfs: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., size: _Optional[int] = ..., checksum: _Optional[str] = ..., status: _Optional[str] = ..., disk_format: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[float] = ..., builtin: _Optional[bool] = ..., rootfs: _Optional[str] = ...) -> None: ...

class ImageMetadata(_message.Message):
    __slots__ = ("name", "properties", "disk_format")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    DISK_FORMAT_FIELD_NUMBER: _ClassVar[int]
    name: str
    properties: _containers.ScalarMap[str, str]
    disk_format: str
    def __init__(self, name: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ..., disk_format: _Optional[str] = ...) -> None: ...

class CreateImageRequest(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: ImageMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[ImageMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ImageList(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class VnffgStatsRequest(_message.Message):
    __slots__ = ("name", "window", "interval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    window: float
    interval: float
    def __init__(self, name: _Optional[str] = ..., window: _Optional[float] = ..., interval: _Optional[float] = ...) -> None: ...

class TrafficCount(_message.Message):
    __slots__ = ("packets", "bytes", "flows", "source", "exact")
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    packets: int
    bytes: int
    flows: int
    source: str
    exact: bool
    def __init__(self, packets: _Optional[int] = ..., bytes: _Optional[int] = ..., flows: _Optional[int] = ..., source: _Optional[str] = ..., exact: _Optional[bool] = ...) -> None: ...

class HopLoss(_message.Message):
    __slots__ = ("packets", "ratio", "exact", "margin")
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    packets: int
    ratio: float
    exact: bool
    margin: float
    def __init__(self, packets: _Optional[int] = ..., ratio: _Optional[float] = ..., exact: _Optional[bool] = ..., margin: _Optional[float] = ...) -> None: ...

class HopStats(_message.Message):
    __slots__ = ("si", "name", "into", "out", "loss")
    SI_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INTO_FIELD_NUMBER: _ClassVar[int]
    OUT_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    si: int
    name: str
    into: TrafficCount
    out: TrafficCount
    loss: HopLoss
    def __init__(self, si: _Optional[int] = ..., name: _Optional[str] = ..., into: _Optional[_Union[TrafficCount, _Mapping]] = ..., out: _Optional[_Union[TrafficCount, _Mapping]] = ..., loss: _Optional[_Union[HopLoss, _Mapping]] = ...) -> None: ...

class Talker(_message.Message):
    __slots__ = ("flow", "packets", "bytes")
    FLOW_FIELD_NUMBER: _ClassVar[int]
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    flow: str
    packets: int
    bytes: int
    def __init__(self, flow: _Optional[str] = ..., packets: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class PathStats(_message.Message):
    __slots__ = ("spi", "name", "path", "entered", "delivered", "hops", "top")
    SPI_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ENTERED_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    spi: int
    name: str
    path: str
    entered: TrafficCount
    delivered: TrafficCount
    hops: _containers.RepeatedCompositeFieldContainer[HopStats]
    top: _containers.RepeatedCompositeFieldContainer[Talker]
    def __init__(self, spi: _Optional[int] = ..., name: _Optional[str] = ..., path: _Optional[str] = ..., entered: _Optional[_Union[TrafficCount, _Mapping]] = ..., delivered: _Optional[_Union[TrafficCount, _Mapping]] = ..., hops: _Optional[_Iterable[_Union[HopStats, _Mapping]]] = ..., top: _Optional[_Iterable[_Union[Talker, _Mapping]]] = ...) -> None: ...

class VnffgStats(_message.Message):
    __slots__ = ("name", "id", "time", "window", "packets", "bytes", "flows", "exact", "paths", "top")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    time: float
    window: float
    packets: int
    bytes: int
    flows: int
    exact: bool
    paths: _containers.RepeatedCompositeFieldContainer[PathStats]
    top: _containers.RepeatedCompositeFieldContainer[Talker]
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., time: _Optional[float] = ..., window: _Optional[float] = ..., packets: _Optional[int] = ..., bytes: _Optional[int] = ..., flows: _Optional[int] = ..., exact: _Optional[bool] = ..., paths: _Optional[_Iterable[_Union[PathStats, _Mapping]]] = ..., top: _Optional[_Iterable[_Union[Talker, _Mapping]]] = ...) -> None: ...

class Exporter(_message.Message):
    __slots__ = ("address", "protocol", "datagrams", "records", "drops", "drops_by_reason", "last_seen", "switch")
    class DropsByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    DATAGRAMS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    DROPS_FIELD_NUMBER: _ClassVar[int]
    DROPS_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    address: str
    protocol: str
    datagrams: int
    records: int
    drops: int
    drops_by_reason: _containers.ScalarMap[str, int]
    last_seen: float
    switch: str
    def __init__(self, address: _Optional[str] = ..., protocol: _Optional[str] = ..., datagrams: _Optional[int] = ..., records: _Optional[int] = ..., drops: _Optional[int] = ..., drops_by_reason: _Optional[_Mapping[str, int]] = ..., last_seen: _Optional[float] = ..., switch: _Optional[str] = ...) -> None: ...

class ExporterList(_message.Message):
    __slots__ = ("exporters",)
    EXPORTERS_FIELD_NUMBER: _ClassVar[int]
    exporters: _containers.RepeatedCompositeFieldContainer[Exporter]
    def __init__(self, exporters: _Optional[_Iterable[_Union[Exporter, _Mapping]]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Component(_message.Message):
    __slots__ = ("name", "state", "addresses", "detail", "pid", "started", "restarts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    addresses: _containers.RepeatedScalarFieldContainer[str]
    detail: str
    pid: int
    started: float
    restarts: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., addresses: _Optional[_Iterable[str]] = ..., detail: _Optional[str] = ..., pid: _Optional[int] = ..., started: _Optional[float] = ..., restarts: _Optional[int] = ...) -> None: ...

class StackStatus(_message.Message):
    __slots__ = ("components", "metrics_url")
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    METRICS_URL_FIELD_NUMBER: _ClassVar[int]
    components: _containers.RepeatedCompositeFieldContainer[Component]
    metrics_url: str
    def __init__(self, components: _Optional[_Iterable[_Union[Component, _Mapping]]] = ..., metrics_url: _Optional[str] = ...) -> None: ...

class Host(_message.Message):
    __slots__ = ("name", "state", "reason", "zone", "vcpus", "mem_bytes", "disk_bytes", "used_vcpus", "used_mem_bytes", "used_disk_bytes", "vdus", "switch", "bridge", "dpid", "host_id", "underlay_ip", "netns", "uplink", "gpe_port", "tunnel_ports")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    MEM_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_VCPUS_FIELD_NUMBER: _ClassVar[int]
    USED_MEM_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    VDUS_FIELD_NUMBER: _ClassVar[int]
    SWITCH_FIELD_NUMBER: _ClassVar[int]
    BRIDGE_FIELD_NUMBER: _ClassVar[int]
    DPID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    UNDERLAY_IP_FIELD_NUMBER: _ClassVar[int]
    NETNS_FIELD_NUMBER: _ClassVar[int]
    UPLINK_FIELD_NUMBER: _ClassVar[int]
    GPE_PORT_FIELD_NUMBER: _ClassVar[int]
    TUNNEL_PORTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    reason: str
    zone: str
    vcpus: int
    mem_bytes: int
    disk_bytes: int
    used_vcpus: int
    used_mem_bytes: int
    used_disk_bytes: int
    vdus: _containers.RepeatedScalarFieldContainer[str]
    switch: str
    bridge: str
    dpid: int
    host_id: int
    underlay_ip: str
    netns: str
    uplink: str
    gpe_port: str
    tunnel_ports: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., zone: _Optional[str] = ..., vcpus: _Optional[int] = ..., mem_bytes: _Optional[int] = ..., disk_bytes: _Optional[int] = ..., used_vcpus: _Optional[int] = ..., used_mem_bytes: _Optional[int] = ..., used_disk_bytes: _Optional[int] = ..., vdus: _Optional[_Iterable[str]] = ..., switch: _Optional[str] = ..., bridge: _Optional[str] = ..., dpid: _Optional[int] = ..., host_id: _Optional[int] = ..., underlay_ip: _Optional[str] = ..., netns: _Optional[str] = ..., uplink: _Optional[str] = ..., gpe_port: _Optional[str] = ..., tunnel_ports: _Optional[_Iterable[str]] = ...) -> None: ...

class HostList(_message.Message):
    __slots__ = ("hosts",)
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    hosts: _containers.RepeatedCompositeFieldContainer[Host]
    def __init__(self, hosts: _Optional[_Iterable[_Union[Host, _Mapping]]] = ...) -> None: ...

class HostActionRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class HostAction(_message.Message):
    __slots__ = ("host", "evacuated", "skipped", "purged", "seconds")
    HOST_FIELD_NUMBER: _ClassVar[int]
    EVACUATED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    PURGED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    host: Host
    evacuated: _containers.RepeatedScalarFieldContainer[str]
    skipped: _containers.RepeatedScalarFieldContainer[str]
    purged: _containers.RepeatedScalarFieldContainer[str]
    seconds: float
    def __init__(self, host: _Optional[_Union[Host, _Mapping]] = ..., evacuated: _Optional[_Iterable[str]] = ..., skipped: _Optional[_Iterable[str]] = ..., purged: _Optional[_Iterable[str]] = ..., seconds: _Optional[float] = ...) -> None: ...

class AddHostRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemoveHostRequest(_message.Message):
    __slots__ = ("name", "evacuate")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EVACUATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    evacuate: bool
    def __init__(self, name: _Optional[str] = ..., evacuate: _Optional[bool] = ...) -> None: ...
