"""The image registry on a real SQL store and real files: import, list, delete, refusals that
leave nothing behind, delete refused while a VNF's VDU uses the image, crash recovery."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from descriptors import load_vnfd
from vnfm.errors import AlreadyExists, InvalidRequest, InvalidState, NotFound
from vnfm.images import ImageCatalog, ImageRecord, ImageStatus
from vnfm.imagestore import ImageRegistry
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim.fake import FakeVim

from .conftest import Clock
from .rootfs_tar import IMAGE_VNFD as VNFD
from .rootfs_tar import entry, rootfs_tar



@pytest.fixture
def store(tmp_path):
    s = VnfSqlStore(f"sqlite:///{tmp_path / 'vnfm.db'}", "nf")
    yield s
    s.close()


@pytest.fixture
def registry(store, tmp_path):
    return ImageRegistry(store, tmp_path / "images", now=Clock())


def chunks(path: Path, size: int = 65536):
    with open(path, "rb") as f:
        while block := f.read(size):
            yield block


def left(registry: ImageRegistry) -> tuple[list, list]:
    """What a failed import must not leave: rows, files."""
    return registry.store.images(), sorted(os.listdir(registry.root))


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "tar.xz"])
def test_import_list_show_delete(registry, tmp_path, fmt):
    seen: list[list[ImageRecord]] = []
    registry.subscribe(seen.append)
    tarball = rootfs_tar(tmp_path / f"tiny.{fmt}", fmt)
    rec = registry.create("tiny", chunks(tarball), {"nsh_aware": "true", "command": "/bin/busybox httpd -f",
                                                     "vendor": "test"})
    assert rec.status == ImageStatus.ACTIVE and rec.disk_format == fmt and not rec.builtin
    assert rec.checksum == hashlib.sha256(tarball.read_bytes()).hexdigest() and rec.size == tarball.stat().st_size
    root = Path(rec.rootfs)
    assert root == registry.root / rec.id / "rootfs"
    assert (root / "bin/busybox").read_bytes() == Path("/bin/busybox").read_bytes()
    assert os.readlink(root / "bin/sh") == "/bin/busybox" and os.access(root / "bin/busybox", os.X_OK)
    assert sorted(os.listdir(registry.root)) == [rec.id]  # no upload file, no temporary directory
    assert [r.name for r in registry.list()] == ["host", "cirros", "nsh-forwarder", "nsh-firewall", "nsh-counter",
                                                 "tiny"]
    assert registry.get(rec.id) == registry.get("tiny") and dict(registry.get("tiny").properties)["vendor"] == "test"
    img = ImageCatalog().with_registered(seen[-1]).resolve("tiny")
    assert (img.rootfs, img.argv, img.nsh_aware) == (str(root), ("/bin/busybox", "httpd", "-f"), True)
    assert registry.delete("tiny").id == rec.id
    assert left(registry) == ([], []) and seen[-1] == []
    with pytest.raises(NotFound, match="no image 'tiny'"):
        registry.get("tiny")


BAD = [
    ("traversal", [entry("../../etc/evil", data=b"x")], r"member '\.\./\.\./etc/evil': '\.\.' in its path"),
    ("absolute", [entry("/etc/evil", data=b"x")], r"member '/etc/evil': absolute path"),
    ("device", [entry("dev/sda", tarfile.BLKTYPE)], r"member 'dev/sda': a block device"),
    ("escaping link", [entry("etc/out", tarfile.SYMTYPE, link="../../../../root")],
     r"member 'etc/out': symbolic link to '\.\./\.\./\.\./\.\./root' leaves the image's root"),
    ("through a link", [entry("lib", tarfile.SYMTYPE, link="/etc"), entry("lib/passwd", data=b"x")],
     r"member 'lib/passwd': below the symbolic link 'lib'"),
]


@pytest.mark.parametrize("case, extra, problem", BAD, ids=[b[0] for b in BAD])
def test_unsafe_members_leave_nothing(registry, tmp_path, case, extra, problem):
    tarball = rootfs_tar(tmp_path / "bad.tar.gz", extra=extra)
    with pytest.raises(InvalidRequest, match=f"image bad: {problem}"):
        registry.create("bad", chunks(tarball))
    assert left(registry) == ([], [])
    assert not Path("/etc/evil").exists()


def test_bad_files_leave_nothing(registry, tmp_path):
    good = rootfs_tar(tmp_path / "good.tar.gz").read_bytes()
    cases = [
        (os.urandom(5000), r"image bad: not a readable tar archive \(corrupt or truncated\?\)"),
        (b"\x1f\x8b" + os.urandom(3000), "image bad: not a readable tar.gz archive"),
        (good[: len(good) // 2], "image bad: not a readable tar.gz archive"),
        (b"", "image bad: the file is empty"),
    ]
    for data, problem in cases:
        with pytest.raises(InvalidRequest, match=problem):
            registry.create("bad", [data])
        assert left(registry) == ([], [])
    plain = rootfs_tar(tmp_path / "plain.tar", "tar").read_bytes()
    with pytest.raises(InvalidRequest, match="image bad: not a readable tar archive"):
        registry.create("bad", [plain[:-30000]])  # cut inside busybox's data
    with pytest.raises(InvalidRequest, match="image bad: not a root filesystem: the archive has none of bin/sh"):
        registry.create("bad", chunks(rootfs_tar(tmp_path / "data.tar.gz", busybox=False)))
    with pytest.raises(InvalidRequest, match="disk_format tar.xz given, but the file is tar.gz"):
        registry.create("bad", [good], disk_format="tar.xz")
    assert left(registry) == ([], [])


def test_limits_and_an_upload_that_breaks_off(store, tmp_path):
    small = ImageRegistry(store, tmp_path / "images", max_upload=10_000)
    with pytest.raises(InvalidRequest, match="image big: the file is larger than 10000 bytes"):
        small.create("big", chunks(rootfs_tar(tmp_path / "t.tar.gz")))

    def broken():
        yield b"\x1f\x8b" + b"\0" * 100
        raise ConnectionResetError("client went away")
    with pytest.raises(ConnectionResetError):
        small.create("big", broken())
    assert left(small) == ([], [])


def test_names_properties_duplicates(registry, tmp_path):
    tarball = rootfs_tar(tmp_path / "t.tar.gz")
    for name, props, problem in (("cirros", {}, "built-in"), ("a b", {}, "image name 'a b'"),
                                 ("x", {"nsh_aware": "perhaps"}, "expected true or false"),
                                 ("x", {"command": "/bin/x {nope}"}, "unknown placeholder")):
        with pytest.raises(InvalidRequest, match=problem):
            registry.create(name, chunks(tarball), props)
    first = registry.create("tiny", chunks(tarball))
    with pytest.raises(AlreadyExists, match="image 'tiny' exists already"):
        registry.create("tiny", chunks(tarball))
    assert [r.id for r in registry.store.images()] == [first.id] and os.listdir(registry.root) == [first.id]
    for builtin in ("cirros", "host", "nsh-firewall"):
        with pytest.raises(InvalidState, match=f"image {builtin} is built in"):
            registry.delete(builtin)


def test_delete_refused_while_a_vdu_uses_it(store, registry, tmp_path):
    base = ImageCatalog()
    vnfm = VnfManager(FakeVim(prefix="nf"), store, prefix="nf", now=Clock(), monitor=False,
                      catalog=base.with_registered(registry.active()))
    registry.subscribe(lambda records: setattr(vnfm, "catalog", base.with_registered(records)))
    rec = registry.create("tiny", chunks(rootfs_tar(tmp_path / "t.tar.gz")))
    by_name = vnfm.instantiate("boxed1", load_vnfd(VNFD.replace("IMAGE", "tiny")))
    vnfm.instantiate("boxed2", load_vnfd(VNFD.replace("IMAGE", rec.id)))  # by id, as Glance allows
    assert by_name.vdus[0].image == "tiny"
    with pytest.raises(InvalidState, match="image tiny is in use by VNF boxed1, boxed2; delete them first"):
        registry.delete("tiny")
    assert vnfm.catalog.resolve("tiny").rootfs == rec.rootfs  # still usable after the refusal
    vnfm.terminate("boxed1")
    with pytest.raises(InvalidState, match="in use by VNF boxed2; delete it first"):
        registry.delete(rec.id)
    vnfm.terminate("boxed2")
    registry.delete("tiny")
    with pytest.raises(InvalidRequest, match="unknown image 'tiny': known images are cirros, host"):
        vnfm.instantiate("boxed3", load_vnfd(VNFD.replace("IMAGE", "tiny")))
    assert vnfm.list() == [] and left(registry) == ([], [])
    vnfm.close()


def test_a_crash_mid_import_is_cleaned_at_start(store, registry, tmp_path):
    kept = registry.create("kept", chunks(rootfs_tar(tmp_path / "t.tar.gz")))
    store.put_image(ImageRecord("half", "half", ImageStatus.SAVING, 5.0), new=True)
    (registry.root / ".tmp-half").mkdir()
    (registry.root / "stray").mkdir()
    again = ImageRegistry(store, registry.root)
    assert [r.name for r in again.store.images()] == ["kept"]
    assert os.listdir(again.root) == [kept.id] and again.get("kept").rootfs == kept.rootfs
