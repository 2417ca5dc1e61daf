from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApplyDocumentRequest(_message.Message):
    __slots__ = ("document", "source")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    document: str
    source: str
    def __init__(self, document: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class UpsertPathsRequest(_message.Message):
    __slots__ = ("paths_json", "remove")
    PATHS_JSON_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    paths_json: str
    remove: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, paths_json: _Optional[str] = ..., remove: _Optional[_Iterable[str]] = ...) -> None: ...

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
    __slots__ = ("name", "dpid", "connected", "generation", "flows", "groups", "error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DPID_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    dpid: int
    connected: bool
    generation: int
    flows: int
    groups: int
    error: str
    def __init__(self, name: _Optional[str] = ..., dpid: _Optional[int] = ..., connected: _Optional[bool] = ..., generation: _Optional[int] = ..., flows: _Optional[int] = ..., groups: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class State(_message.Message):
    __slots__ = ("generation", "paths", "switches", "document_json")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    SWITCHES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    generation: int
    paths: _containers.RepeatedCompositeFieldContainer[PathSummary]
    switches: _containers.RepeatedCompositeFieldContainer[SwitchStatus]
    document_json: str
    def __init__(self, generation: _Optional[int] = ..., paths: _Optional[_Iterable[_Union[PathSummary, _Mapping]]] = ..., switches: _Optional[_Iterable[_Union[SwitchStatus, _Mapping]]] = ..., document_json: _Optional[str] = ...) -> None: ...
