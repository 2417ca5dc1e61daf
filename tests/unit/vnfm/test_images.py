"""The pure parts of images: tar member checks, the rootfs check, properties, resolution."""

from __future__ import annotations

import tarfile

import pytest

from vnfm.errors import InvalidRequest
from vnfm.images import (BUILTIN, CIRROS_ROOTFS, HOST_ROOTFS, ImageCatalog, ImageRecord, ImageStatus, builtin_records,
                         check_image_name, check_properties, image_of, parse_property)
from vnfm.imagetar import check_members, check_rootfs, detect_format

BIG = 1 << 30


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, size
    return info


def d(name: str) -> tarfile.TarInfo:
    return member(name, tarfile.DIRTYPE)


def sym(name: str, link: str) -> tarfile.TarInfo:
    return member(name, tarfile.SYMTYPE, link)


ROOTFS = [d("./"), d("./bin"), member("./bin/busybox", size=100), sym("./bin/sh", "/bin/busybox"),
          sym("bin/ls", "busybox"), d("usr"), sym("usr/bin", "../bin"), member("etc/hostname", size=3),
          member("bin/ash", tarfile.LNKTYPE, "./bin/busybox"), sym("lib64", "/lib")]


def test_a_plain_rootfs_passes():
    check_members(ROOTFS, max_bytes=BIG)
    check_rootfs(ROOTFS)


@pytest.mark.parametrize("bad, problem", [
    (member("/etc/passwd"), r"member '/etc/passwd': absolute path"),
    (member("bin/../../etc/passwd"), r"member 'bin/../../etc/passwd': '\.\.' in its path"),
    (member("dev/sda", tarfile.BLKTYPE), r"member 'dev/sda': a block device"),
    (member("dev/null", tarfile.CHRTYPE), r"member 'dev/null': a character device"),
    (member("run/fifo", tarfile.FIFOTYPE), r"member 'run/fifo': a FIFO"),
    (sym("etc/escape", "../../../etc"), r"member 'etc/escape': symbolic link to '../../../etc' leaves"),
    (sym("escape", "/../etc"), r"member 'escape': symbolic link to '/../etc' leaves"),
    (member("lib64/libc.so"), r"member 'lib64/libc.so': below the symbolic link 'lib64'"),
    (member("bin/sh", size=5), r"member 'bin/sh': written over the symbolic link"),
    (member("x", tarfile.LNKTYPE, "bin/sh"), r"member 'x': hard link to 'bin/sh', which is not a regular file"),
    (member("y", tarfile.LNKTYPE, "later"), r"member 'y': hard link to 'later'"),
    (member("z", tarfile.LNKTYPE, "/etc/shadow"), r"member 'z': hard link to '/etc/shadow' outside"),
    (member(".", tarfile.REGTYPE), r"the root must be a directory"),
])
def test_unsafe_members_are_refused_by_name(bad, problem):
    with pytest.raises(InvalidRequest, match=problem):
        check_members([*ROOTFS, bad, member("later")], max_bytes=BIG)


def test_a_member_below_a_later_symlink_is_refused_too():
    with pytest.raises(InvalidRequest, match="'opt/x': below the symbolic link 'opt'"):
        check_members([*ROOTFS, d("opt"), member("opt/x"), sym("opt", "/tmp")], max_bytes=BIG)


def test_unpacked_size_is_capped():
    with pytest.raises(InvalidRequest, match="more than 150 bytes .*'etc/big'"):
        check_members([*ROOTFS, member("etc/big", size=50)], max_bytes=150)


def test_rootfs_needs_a_shell():
    check_rootfs([d("usr"), d("usr/bin"), member("usr/bin/sh")])
    with pytest.raises(InvalidRequest, match="not a root filesystem: the archive has none of bin/sh, bin/busybox"):
        check_rootfs([d("data"), member("data/readme.txt"), d("bin")])


def test_format_from_magic():
    assert detect_format(b"\x1f\x8b\x08rest") == "tar.gz"
    assert detect_format(b"\xfd7zXZ\x00rest") == "tar.xz"
    assert detect_format(b"anything else") == "tar"


def test_properties():
    assert parse_property("command=/bin/x --a=b") == ("command", "/bin/x --a=b")
    with pytest.raises(InvalidRequest, match="not KEY=VALUE"):
        parse_property("nsh_aware")
    assert check_properties({"nsh_aware": "Yes", "vendor": "Acme Inc", "command": "/sf --iface {iface}"}) == (
        ("command", "/sf --iface {iface}"), ("nsh_aware", "true"), ("vendor", "Acme Inc"))
    for props, problem in (({"nsh_aware": "maybe"}, "nsh_aware='maybe': expected true or false"),
                           ({"command": "/sf {ip}"}, r"unknown placeholder \{ip\} in '\{ip\}' \(known: \{iface\}"),
                           ({"command": "  "}, "command is empty"),
                           ({"command": "'unclosed"}, "No closing quotation"),
                           ({"command": "/sf {"}, "literal brace"),
                           ({"ready": ""}, "ready is empty"),
                           ({"bad key": "1"}, "property name 'bad key'")):
        with pytest.raises(InvalidRequest, match=problem):
            check_properties(props)


def test_names():
    assert check_image_name("alpine-3.20") == "alpine-3.20"
    for bad, problem in (("cirros", "built-in"), ("host", "built-in"), ("exec:x", "letters"), ("a/b", "letters"),
                         ("", "letters")):
        with pytest.raises(InvalidRequest, match=problem):
            check_image_name(bad)


def record(name: str, status: str = ImageStatus.ACTIVE, **props: str) -> ImageRecord:
    return ImageRecord(f"id-{name}", name, status, 1.0, 10, "ab" * 32, "tar.gz", check_properties(props),
                       f"/state/images/id-{name}/rootfs")


def test_registered_images_resolve_by_name_and_id():
    alpine = record("alpine", nsh_aware="true", command="/usr/bin/sf --iface {iface} --out {workdir}/x", ready="up")
    catalog = ImageCatalog().with_image("web", ["{python}", "-m", "http.server"]).with_registered(
        [alpine, record("half", ImageStatus.SAVING), record("ubuntu-22.04")])
    img = catalog.resolve("alpine")
    assert img == image_of(alpine) == catalog.resolve("id-alpine")
    assert img.argv == ("/usr/bin/sf", "--iface", "{iface}", "--out", "{workdir}/x") and img.ready == "up"
    assert img.rootfs == "/state/images/id-alpine/rootfs" and img.nsh_aware
    assert catalog.resolve("web").argv[-1] == "http.server"  # programs added in code stay
    assert catalog.resolve("ubuntu-22.04").rootfs.endswith("id-ubuntu-22.04/rootfs")  # stands in for the cloud name
    with pytest.raises(InvalidRequest, match="unknown image 'half'.*alpine.*cirros.*web"):
        catalog.resolve("half")  # not active: not usable
    plain = image_of(record("plain"))
    assert (plain.argv, plain.ready, plain.nsh_aware) == (None, None, False)


def test_builtins_and_cloud_names():
    catalog = ImageCatalog()
    for name in ("cirros-0.5.2-x86_64-disk", "ubuntu-20.04", "centos", "Fedora-Cloud", "debian-12", "openwrt",
                 "http://example.com/images/cirros-0.4.0-x86_64-disk.img"):
        assert catalog.resolve(name) == BUILTIN["cirros"] and catalog.resolve(name).rootfs == CIRROS_ROOTFS
    assert catalog.resolve("host").rootfs == HOST_ROOTFS and catalog.resolve("host").argv is None
    sf = catalog.resolve("nsh-firewall")
    assert sf.nsh_aware and sf.rootfs == HOST_ROOTFS and "firewall" in sf.argv
    ex = catalog.resolve("exec:/bin/echo 'a b'")
    assert ex.argv == ("/bin/echo", "a b") and ex.rootfs == HOST_ROOTFS
    listed = {r.name: r for r in builtin_records()}
    assert set(listed) == {"host", "cirros", "nsh-forwarder", "nsh-firewall", "nsh-counter"}
    assert all(r.builtin and r.status == ImageStatus.ACTIVE for r in listed.values())
    assert dict(listed["nsh-counter"].properties)["nsh_aware"] == "true"
    assert image_of(listed["nsh-counter"]) == BUILTIN["nsh-counter"]  # the listing says what resolution does
