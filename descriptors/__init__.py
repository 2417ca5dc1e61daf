"""TOSCA NFV descriptors in Tacker's dialect: load, validate, and model VNFD, VNFFGD and NSD.

The one package that imports tosca-parser. Every loader returns a frozen model or raises
``DescriptorError`` (a list of ``Issue``: file, node, field, message, line).
"""

from descriptors.acl import ACL_FIELDS, AclMatch, parse_port_range, parse_prefix
from descriptors.errors import DescriptorError, Issue
from descriptors.inputs import InputDef, InputRef
from descriptors.loader import Descriptor, detect_kind, load_any, load_nsd, load_vnfd, load_vnffgd
from descriptors.nsd import ConstituentVnf, Nsd
from descriptors.source import read_params
from descriptors.vnfd import (AlarmPolicy, AlarmTrigger, BlockStorage, ComputeProperties, ConnectionPoint,
                              ImageArtifact, MonitoringPolicy, PlacementPolicy, ScalingPolicy, Vdu,
                              VirtualLink, Vnfd, VnfType)
from descriptors.vnffgd import Classifier, ForwardingGraph, ForwardingPath, PathHop, Vnffgd

__all__ = [
    "ACL_FIELDS", "AclMatch", "AlarmPolicy", "AlarmTrigger", "BlockStorage", "Classifier",
    "ComputeProperties", "ConnectionPoint", "ConstituentVnf", "Descriptor", "DescriptorError",
    "ForwardingGraph", "ForwardingPath", "ImageArtifact", "InputDef", "InputRef", "Issue",
    "MonitoringPolicy", "Nsd", "PathHop", "PlacementPolicy", "ScalingPolicy", "Vdu", "VirtualLink",
    "Vnfd", "Vnffgd", "VnfType", "detect_kind", "load_any", "load_nsd", "load_vnfd", "load_vnffgd",
    "parse_port_range", "parse_prefix", "read_params",
]
