"""A LocalVim + VnfManager on a fresh standalone (NORMAL) bridge per test; teardown terminates
whatever the test left and checks that nothing with the VIM's prefix remains."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplane import netns
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim.local import LocalVim

VNFD = """
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
metadata: {{template_name: {name}}}
topology_template:
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      capabilities:
        nfv_compute: {{properties: {{num_cpus: 1, mem_size: 64 MB, disk_size: 1 GB}}}}
      properties:
        image: {image}
{monitor}
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {{management: true, order: 0}}
      requirements: [{{virtualLink: {{node: VL1}}}}, {{virtualBinding: {{node: VDU1}}}}]
    CP2:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {{order: 1}}
      requirements: [{{virtualLink: {{node: VL2}}}}, {{virtualBinding: {{node: VDU1}}}}]
    VL1:
      type: tosca.nodes.nfv.VL
      properties: {{network_name: net_mgmt, vendor: nfvchain}}
    VL2:
      type: tosca.nodes.nfv.VL
      properties: {{network_name: {data_net}, vendor: nfvchain}}
{extra}
"""
MONITOR = """        monitoring_policy:
          name: ping
          parameters: {{{parameters}}}
          actions: {{failure: {action}}}"""
PING_ONCE = "monitoring_delay: 0, count: 1, interval: 1, timeout: 1"
STORAGE = """    VB1:
      type: tosca.nodes.BlockStorage.Tacker
      properties: {size: 8 MB}
    CB1:
      type: tosca.nodes.BlockStorageAttachment
      properties: {location: /dev/vdb}
      requirements: [{virtualBinding: {node: VDU1}}, {virtualAttachment: {node: VB1}}]"""
SCALING = """  policies:
    - SP1:
        type: tosca.policies.tacker.Scaling
        properties: {targets: [VDU1], increment: 1, min_instances: 1, max_instances: 2,
                     default_instances: 1}"""


def vnfd_text(name: str = "t", image: str = "host", action: str | None = None,
              data_net: str = "net_data", storage: bool = False, scaling: bool = False,
              monitor_parameters: str = PING_ONCE) -> str:
    """A one-VDU VNFD (two CPs); ``action`` adds a ping monitoring policy with that failure action."""
    monitor = MONITOR.format(action=action, parameters=monitor_parameters) if action else ""
    extra = "\n".join(x for x in (STORAGE if storage else "", SCALING if scaling else "") if x)
    return VNFD.format(name=name, image=image, monitor=monitor, data_net=data_net, extra=extra)


@pytest.fixture
def vim_prefix(run_prefix: str) -> str:
    return run_prefix + "v"


@pytest.fixture
def vim_env(ovsdb, bridge_factory, vim_prefix, tmp_path: Path):
    bridge = bridge_factory(fail_mode="standalone")
    vim = LocalVim(ovsdb, bridge, vim_prefix, tmp_path / "state")
    url = f"sqlite:///{tmp_path / 'vnfm.db'}"
    yield vim, url
    m = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, monitor=False)
    for rec in m.list():
        m.terminate(rec.id)
    m.close()
    left = {
        "namespaces": [n for n in netns.list_netns() if n.startswith(vim_prefix)],
        "links": [n for n in netns.list_links() if n.startswith(vim_prefix)],
        "ports": [p.name for p in ovsdb.list_ports(bridge)],
        "servers": sorted(vim.server_keys()),
        "volumes": sorted(p.name for p in (tmp_path / "state" / "volumes").glob("*"))
        if (tmp_path / "state" / "volumes").exists() else [],
    }
    assert not any(left.values()), f"VIM left {left}"


@pytest.fixture
def manager(vim_env, vim_prefix):
    vim, url = vim_env
    m = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix)
    yield m
    m.close()
