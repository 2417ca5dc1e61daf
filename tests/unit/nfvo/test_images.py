"""``nfv image ...`` and the image RPCs against an in-process NFVO with a real image registry
(real SQL store, real files) and the fake VIM: upload in chunks, list/show, delete refused while
a VNF uses the image, bad files refused with nothing left, and the cloud-name fallback."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import yaml

from nfvo.api.server import connect, serve
from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.cli.main import main
from nfvo.sdnclient import GrpcSdn
from nfvo.service import NfvoService
from nfvo.sqlstore import SqlStore
from tests.unit.nfvo.conftest import BRIDGE, DPID
from tests.unit.vnfm.conftest import Clock
from tests.unit.vnfm.rootfs_tar import IMAGE_VNFD as VNFD
from tests.unit.vnfm.rootfs_tar import entry, rootfs_tar
from vnfm.images import ImageCatalog
from vnfm.imagestore import ImageRegistry
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore



@dataclass
class ImageStack:
    nfvo: NfvoService
    vnfm: VnfManager
    images: ImageRegistry
    stub: object


@pytest.fixture
def image_stack(tmp_path, sdn_server, monkeypatch):
    vim, _driver, _controller, sdn_address = sdn_server
    store = VnfSqlStore(f"sqlite:///{tmp_path / 'vnfm.db'}", "nf")
    images = ImageRegistry(store, tmp_path / "images", now=Clock())
    base = ImageCatalog()
    vnfm = VnfManager(vim, store, prefix="nf", now=Clock(), monitor=False, catalog=base.with_registered(images.active()))
    images.subscribe(lambda records: setattr(vnfm, "catalog", base.with_registered(records)))
    nfvo = NfvoService(SqlStore(f"sqlite:///{tmp_path / 'nfvo.db'}"), vnfm, GrpcSdn(sdn_address), now=Clock(),
                       spawn=lambda fn: fn(), images=images)
    nfvo.catalog.register_vim("local", bridge=BRIDGE, dpid=DPID)
    server, port = serve(nfvo, "127.0.0.1:0")
    monkeypatch.setenv("NFV_NFVO_ADDRESS", f"127.0.0.1:{port}")
    yield ImageStack(nfvo, vnfm, images, connect(f"127.0.0.1:{port}"))
    server.stop(None)
    vnfm.close()


def nfv(line: str) -> int:
    argv = shlex.split(line)
    assert argv[0] == "nfv"
    return main(argv[1:])


def nothing_left(stack: ImageStack, name: str) -> None:
    assert name not in [i.name for i in stack.stub.ListImages(pb.ListRequest()).images]
    assert stack.images.store.images() == [] and os.listdir(stack.images.root) == []


def test_create_list_show_delete(image_stack, tmp_path, capsys):
    # 6 MB of incompressible filler: the upload needs several messages (gRPC's limit is 4 MB)
    tarball = rootfs_tar(tmp_path / "tiny.tar.gz", filler=os.urandom(6 * 2**20))
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert nfv(f"nfv image create --file {tarball} --property nsh_aware=true --property 'command=/bin/busybox "
               f"nc -l -p 80' --property os_distro=busybox -f json tiny") == 0
    made = json.loads(capsys.readouterr().out)
    assert made["status"] == "active" and made["checksum"] == digest and int(made["size"]) == tarball.stat().st_size
    assert made["properties"] == {"nsh_aware": "true", "command": "/bin/busybox nc -l -p 80", "os_distro": "busybox"}
    assert made["disk_format"] == "tar.gz" and made["builtin"] is False
    assert (Path(made["rootfs"]) / "var/filler").stat().st_size == 6 * 2**20
    assert nfv("nfv image list -f json") == 0
    listed = {i["name"]: i for i in json.loads(capsys.readouterr().out)}
    assert set(listed) == {"host", "cirros", "nsh-forwarder", "nsh-firewall", "nsh-counter", "tiny"}
    assert listed["cirros"]["builtin"] and listed["cirros"]["rootfs"] == "cirros"
    assert listed["nsh-firewall"]["properties"]["nsh_aware"] == "true" and listed["host"]["rootfs"] == "host"
    assert nfv("nfv image show tiny -f yaml") == 0
    assert yaml.safe_load(capsys.readouterr().out)["checksum"] == digest
    assert nfv(f"nfv image show {made['id']}") == 0
    assert digest[:60] in capsys.readouterr().out  # a narrow terminal (80 columns here) cuts it short
    assert nfv("nfv image list") == 0
    table = capsys.readouterr().out
    assert "tiny" in table and "nsh-counter" in table and "active" in table and "MiB" in table
    assert nfv("nfv image delete tiny") == 0
    assert "deleted successfully" in capsys.readouterr().out
    nothing_left(image_stack, "tiny")


def test_delete_refused_while_a_vnf_uses_it(image_stack, tmp_path, capsys):
    stack = image_stack
    assert nfv(f"nfv image create --file {rootfs_tar(tmp_path / 't.tar.xz', 'tar.xz')} tiny") == 0
    stack.nfvo.catalog.create_descriptor("VNFD", "boxed", VNFD.replace("IMAGE", "tiny"))
    vnf = stack.nfvo.create_vnf("box1", "boxed")
    assert vnf.status == "ACTIVE" and vnf.vdus[0].image == "tiny"
    capsys.readouterr()
    assert nfv("nfv image delete tiny") == 1
    err = capsys.readouterr().err
    assert "image tiny is in use by VNF box1" in err and "FAILED_PRECONDITION" in err
    assert nfv("nfv image delete cirros") == 1
    assert "image cirros is built in; it cannot be deleted (FAILED_PRECONDITION)" in capsys.readouterr().err
    assert nfv("nfv vnf delete box1") == 0 and nfv("nfv image delete tiny") == 0
    nothing_left(stack, "tiny")


def test_unknown_image_at_vnf_create(image_stack, tmp_path, capsys):
    stack = image_stack
    assert nfv(f"nfv image create --file {rootfs_tar(tmp_path / 't.tar')} mine") == 0
    stack.nfvo.catalog.create_descriptor("VNFD", "nowhere", VNFD.replace("IMAGE", "no-such-image"))
    stack.nfvo.catalog.create_descriptor("VNFD", "cloudy", VNFD.replace("IMAGE", "cirros-0.5.2-x86_64-disk"))
    capsys.readouterr()
    assert nfv("nfv vnf create --vnfd-name nowhere v1") == 1
    err = capsys.readouterr().err
    assert "unknown image 'no-such-image': known images are cirros, host, mine, nsh-counter" in err
    assert "INVALID_ARGUMENT" in err and stack.vnfm.list() == []
    assert stack.nfvo.create_vnf("v2", "cloudy").status == "ACTIVE"  # Tacker's sample image -> cirros
    assert stack.vnfm.catalog.resolve("cirros-0.5.2-x86_64-disk").rootfs == "cirros"


@pytest.mark.parametrize("case, extra, problem", [
    ("traversal", [entry("../../../tmp/evil", data=b"x")], "member '../../../tmp/evil': '..' in its path"),
    ("device", [entry("dev/kmem", b"3")], "member 'dev/kmem': a character device"),
    ("escaping link", [entry("etc/up", b"2", link="../../..")], "member 'etc/up': symbolic link to '../../..' leaves"),
])
def test_unsafe_archives_refused_by_cli(image_stack, tmp_path, capsys, case, extra, problem):
    tarball = rootfs_tar(tmp_path / "bad.tar.gz", extra=extra)
    assert nfv(f"nfv image create --file {tarball} bad") == 1
    err = capsys.readouterr().err
    assert f"image bad: {problem}" in err and "(INVALID_ARGUMENT)" in err and err.count("\n") == 1
    nothing_left(image_stack, "bad")


def test_bad_files_refused(image_stack, tmp_path, capsys):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(os.urandom(4096))
    good = rootfs_tar(tmp_path / "good.tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good[: len(good) // 3])
    data = rootfs_tar(tmp_path / "data.tar", "tar", busybox=False)
    for path, problem in ((junk, "image bad: not a readable tar archive"),
                          (cut, "image bad: not a readable tar.gz archive (corrupt or truncated?)"),
                          (data, "image bad: not a root filesystem: the archive has none of bin/sh, bin/busybox")):
        assert nfv(f"nfv image create --file {path} bad") == 1
        assert problem in capsys.readouterr().err
        nothing_left(image_stack, "bad")
    assert nfv(f"nfv image create --file {tmp_path / 'missing.tar'} bad") == 1
    assert f"image file {tmp_path / 'missing.tar'}: no such file" in capsys.readouterr().err
    assert nfv(f"nfv image create --file {tmp_path / 'good.tar.gz'} --property nsh_aware=maybe bad") == 1
    assert "image property nsh_aware='maybe': expected true or false" in capsys.readouterr().err
    nothing_left(image_stack, "bad")


def test_stream_protocol_errors(image_stack):
    stub = image_stack.stub

    def code_of(requests):
        with pytest.raises(grpc.RpcError) as err:
            stub.CreateImage(iter(requests))
        return err.value.code(), err.value.details()

    assert code_of([]) == (grpc.StatusCode.INVALID_ARGUMENT,
                           "metadata: the first CreateImageRequest must carry the image's metadata")
    assert code_of([pb.CreateImageRequest(chunk=b"x")])[0] == grpc.StatusCode.INVALID_ARGUMENT
    meta = pb.CreateImageRequest(metadata=pb.ImageMetadata(name="twice"))
    code, details = code_of([meta, pb.CreateImageRequest(chunk=b"abc"), meta])
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "#3: only the first message carries metadata" in details
    assert code_of([pb.CreateImageRequest(metadata=pb.ImageMetadata(name="x", disk_format="qcow2"))]) == (
        grpc.StatusCode.INVALID_ARGUMENT, "image x: disk_format 'qcow2' is not one of tar, tar.gz, tar.xz")
    with pytest.raises(grpc.RpcError) as err:
        stub.GetImage(pb.GetRequest(name="nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    nothing_left(image_stack, "twice")


def test_malformed_stream_message(image_stack):
    """Bytes that do not parse as a CreateImageRequest: INVALID_ARGUMENT, not INTERNAL."""
    channel = grpc.insecure_channel(os.environ["NFV_NFVO_ADDRESS"])
    raw = channel.stream_unary("/nfvchain.nfvo.v1.Nfvo/CreateImage")
    with pytest.raises(grpc.RpcError) as err:
        raw(iter([b"\xff\xff\xff"]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "malformed request" in err.value.details()
    channel.close()
    nothing_left(image_stack, "x")
