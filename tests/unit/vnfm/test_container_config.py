"""The pure parts of VDU containers: the OCI config, first-boot files and console parsing, and
what a VNFD's user_data/config compile to."""

from __future__ import annotations

from pathlib import Path

import pytest

from descriptors import load_vnfd
from vnfm.codec import from_json, to_json
from vnfm.errors import InvalidRequest
from vnfm.images import CIRROS_ROOTFS, Image, ImageCatalog
from vnfm.model import VduRecord
from vnfm.spec import compile_spec
from vnfm.vim import firstboot
from vnfm.vim.oci import Bind, ContainerSpec, bundle_config

SAMPLE = Path("/work/shared/corpus/tacker/samples/tosca-templates/vnffgd/tosca-vnffg-vnfd1.yaml")


def spec(**kw) -> ContainerSpec:
    return ContainerSpec("VDU1", "/var/run/netns/k1", "/s/k1/rootfs", ("/bin/sh", "boot"), **kw)


def test_config_joins_the_vims_netns_with_its_own_other_namespaces():
    cfg = bundle_config(spec(proc_sys=("kernel", "net", "vm"), cpus=2, mem_bytes=2**26,
                             cgroups_path="nfvchain-p/k1", binds=(Bind("/w", "/w", False),)))
    ns = {n["type"]: n.get("path") for n in cfg["linux"]["namespaces"]}
    assert ns == {"network": "/var/run/netns/k1", "pid": None, "mount": None, "uts": None, "ipc": None}
    assert cfg["hostname"] == "VDU1" and cfg["root"] == {"path": "/s/k1/rootfs", "readonly": False}
    ro = cfg["linux"]["readonlyPaths"]
    assert "/proc/sys/kernel" in ro and "/proc/sys/vm" in ro and not any("/proc/sys/net" in p for p in ro)
    assert "/proc/sys" not in ro
    caps = cfg["process"]["capabilities"]["bounding"]
    assert {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"} <= set(caps) and "CAP_SYS_ADMIN" not in caps
    res = cfg["linux"]["resources"]
    assert res["cpu"] == {"quota": 200_000, "period": 100_000} and res["memory"] == {"limit": 2**26}
    assert cfg["linux"]["cgroupsPath"] == "nfvchain-p/k1"
    binds = [m for m in cfg["mounts"] if m["type"] == "bind"]
    assert binds == [{"destination": "/w", "type": "bind", "source": "/w", "options": ["rbind", "rw", "nosuid", "nodev"]}]
    assert [m["destination"] for m in cfg["mounts"]].index("/tmp") < cfg["mounts"].index(binds[0])


def test_env_overrides_and_no_limits():
    cfg = bundle_config(spec(env={"PATH": "/x", "A": "b"}))
    assert cfg["process"]["env"][0] == "PATH=/x" and "A=b" in cfg["process"]["env"]
    assert set(cfg["linux"]["resources"]) == {"devices"} and "cgroupsPath" not in cfg["linux"]


def test_first_boot_files_and_console():
    files = firstboot.boot_files("#!/bin/sh\necho hi\n", "param0: key1\n")
    assert files["instance/scripts/part-001"] == ("#!/bin/sh\necho hi\n", 0o700)
    assert files["instance/config"][0] == "param0: key1\n" and "nfv-boot.sh" in files
    assert set(firstboot.boot_files(None, None)) == {"nfv-boot.sh"}
    assert firstboot.boot_argv(("prog", "-x")) == ("/bin/sh", "/var/lib/cloud/nfv-boot.sh", "prog", "-x")
    assert firstboot.boot_result("nfv-boot: user_data start\nhi\n") == (False, None)
    log = "nfv-boot: user_data start\nready (from the script)\nnfv-boot: user_data exit 3\nready\n"
    assert firstboot.boot_result(log) == (True, 3) and firstboot.after_boot(log) == "\nready\n"
    assert firstboot.boot_result("nfv-boot: no user_data\n") == (True, None)


@pytest.mark.parametrize("args, text, ok", [
    ((True, 0, 0.123), "user_data ok (0.12 s)", True),
    ((True, 3, 1.0), "user_data failed: exit 3 after 1.00 s", False),
    ((False, None, 20.0), "user_data cut after 20 s (did not finish)", False),
])
def test_boot_text(args, text, ok):
    assert firstboot.describe(*args, user_data=True) == text and firstboot.boot_ok(text) is ok
    assert firstboot.describe(*args, user_data=False) == "no user_data"


def test_tacker_sample_user_data_and_config_reach_the_spec():
    cat = ImageCatalog({"cirros-0.5.2-x86_64-disk": Image("cirros-0.5.2-x86_64-disk", None, rootfs=CIRROS_ROOTFS)})
    vdu = compile_spec(load_vnfd(SAMPLE.read_text()), cat).vdu("VDU1")
    assert vdu.rootfs == CIRROS_ROOTFS and vdu.user_data and "ifup eth1" in vdu.user_data
    assert vdu.config == "param0: key1\nparam1: key2\n"
    rec = VduRecord("VDU1", 0, "k", "cirros", 1, (), None, "k", "", "user_data ok (0.10 s)")
    assert from_json(VduRecord, to_json(rec)) == rec
    assert from_json(VduRecord, {k: v for k, v in to_json(rec).items() if k != "boot"}).boot == ""


def test_only_raw_user_data():
    text = SAMPLE.read_text().replace("user_data_format: RAW", "user_data_format: SOFTWARE_CONFIG")
    with pytest.raises(InvalidRequest, match="VDU VDU1: user_data_format 'SOFTWARE_CONFIG' is not supported"):
        compile_spec(load_vnfd(text), ImageCatalog())
