"""A rack of compute hosts whose br-ints all connect to one controller (os-ken + gRPC, in this process).

The hosts live in their own namespaces, so the controller listens on the rack: a management
address on the rack bridge, its listening socket made inside the rack namespace (a socket keeps
the namespace it was made in; accepted connections too). The rack bridge answers ARP for that
address and computes its TCP checksums itself (pitfall 6 of the GPE note: a partial checksum
would leave through AF_PACKET into br-phy and arrive wrong).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, Iterator

from pyroute2 import IPRoute

from dataplane import netns
from dataplane.hosts import IFF_NOARP, Cluster, NetnsThread
from dataplane.underlay import INTEGRATION_BRIDGE
from sdn.api.server import serve
from sdn.controller import SfcController
from sdn.osken_runtime import start_controller


@dataclass
class RackController:
    cluster: Cluster
    driver: Any
    controller: SfcController
    grpc_address: str
    openflow_target: str  # what each br-int's Controller row says, "tcp:IP:PORT"

    def wait_for_switches(self, ports: dict[str, set[str]], timeout: float = 20.0) -> None:
        """Every named host's br-int connected, with (at least) those ports."""
        deadline = time.monotonic() + timeout
        want = {self.cluster[h].plan.datapath_id: p for h, p in ports.items()}
        while time.monotonic() < deadline:
            seen = self.driver.switches()
            if all(d in seen and p <= set(seen[d].ports) for d, p in want.items()):
                return
            time.sleep(0.1)
        raise AssertionError(f"switches {sorted(ports)} did not all connect with their ports")


@contextlib.contextmanager
def controller_on_rack(cluster: Cluster, address: str, timeout: float = 15.0) -> Iterator[RackController]:
    """The controller listening on ``address`` (a free address of the rack's subnet) with every
    host of the started ``cluster`` connected to it; all of it gone afterwards (the address too)."""
    ns, bridge = cluster.plan.rack_netns, cluster.plan.rack_bridge
    with IPRoute(netns=ns, flags=0) as ipr:
        idx = ipr.link_lookup(ifname=bridge)[0]
        ipr.link("set", index=idx, flags=0, change=IFF_NOARP)
        ipr.addr("add", index=idx, address=address, prefixlen=cluster.plan.hosts[0].prefixlen)
    netns.set_tx_checksum(bridge, False, netns=ns)
    thread = NetnsThread(ns)
    try:
        driver, stop = thread.call(lambda: start_controller(address, 0, echo_interval=1.0, echo_timeout=3.0))
        try:
            controller = SfcController(driver, timeout=timeout)
            server, port = serve(controller, "127.0.0.1:0")
            try:
                target = f"tcp:{address}:{driver.listen_port}"
                for host in cluster.hosts.values():
                    host.ovsdb().set_controller(INTEGRATION_BRIDGE, target)
                yield RackController(cluster, driver, controller, f"127.0.0.1:{port}", target)
            finally:
                server.stop(None)
                controller.stop()
        finally:
            stop()
    finally:
        thread.close()
        with IPRoute(netns=ns, flags=0) as ipr:
            for idx in ipr.link_lookup(ifname=bridge):  # the rack as it was: no address, no ARP
                ipr.addr("del", index=idx, address=address, prefixlen=cluster.plan.hosts[0].prefixlen)
                ipr.link("set", index=idx, flags=IFF_NOARP, change=IFF_NOARP)
