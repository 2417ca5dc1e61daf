"""Session-wide test set-up.

When running as root, the whole pytest process moves into a private, anonymous network namespace
before anything else happens. Why: a userspace (netdev) ovs-vswitchd owns a tap called
``ovs-netdev``, so two of them in one namespace break each other; in a private namespace our OVS,
bridges, veths and any controller on 127.0.0.1 cannot collide with another run or a system OVS,
and whatever is left behind vanishes with the process. Set NFV_TEST_HOST_NETNS=1 to opt out.
"""

from __future__ import annotations

import os
import warnings

# gRPC's fork handlers abort children forked (for namespaces, SFs) while its threads run;
# we fork only to exec, so turn them off before grpc is first imported. Quiet its logging too.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import pytest

# os-ken pulls in eventlet; ovs.poller imports it and warns on every import. Noise, not signal.
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore:(?s).*Eventlet is deprecated")
    config.addinivalue_line("filterwarnings", "ignore:Using fork\\(\\) is a bad idea")
    if os.geteuid() == 0 and not os.environ.get("NFV_TEST_HOST_NETNS"):
        from dataplane.netns import enter_private_netns

        enter_private_netns()
