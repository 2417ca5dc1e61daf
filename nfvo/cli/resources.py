"""``nfv vnf|vnffg|vnffgd|nsd|ns|vim ...``: the NFVO's resources, as a gRPC client.

Each command exists in two spellings: grouped (``nfv vnffg create``, ``nfv vnf descriptor
create``) and Tacker's hyphenated one (``nfv vnffg-create``, ``nfv vnfd-create``), so commands
from Tacker notes work as written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from nfvo.cli.client import (call, common_options, parse_bool, parse_mapping, read_file, show, show_list,
                             to_dict)
from nfvo.cli.errors import CliError

Setup = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]


def _pb():
    from nfvo.api.v1 import nfvo_pb2

    return nfvo_pb2


def _name_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("name", nargs="?", help=f"the {what}'s name")
    p.add_argument("--name", dest="name_opt", help=argparse.SUPPRESS)


def _name(args: argparse.Namespace) -> str:
    name = args.name or getattr(args, "name_opt", None)
    if not name:
        raise CliError("a name is required (positional NAME or --name)")
    return name


def _params(args: argparse.Namespace) -> str:
    return read_file(args.param_file, "parameter file") if getattr(args, "param_file", None) else ""


# ------------------------------------------------------------------------------------ descriptors
def _descriptor_commands(kind: str, file_flag: str) -> dict[str, tuple[str, Setup, Handler]]:
    title = kind

    def create_setup(p):
        _name_arg(p, kind)
        p.add_argument(f"--{file_flag}", dest="file", required=True, metavar="FILE", help=f"the {kind} (TOSCA YAML)")
        p.add_argument("--description", default="")

    def create(args):
        pb = _pb()
        record = call(args, "CreateDescriptor", pb.CreateDescriptorRequest(
            kind=kind, name=_name(args), template=read_file(args.file, kind), description=args.description))
        show(args, record, title, hide=("template",))
        return 0

    def list_(args):
        reply = call(args, "ListDescriptors", _pb().ListRequest(kind=kind))
        show_list(args, reply.descriptors, f"{kind}s", ["id", "name", "summary", "description"])
        return 0

    def show_(args):
        show(args, call(args, "GetDescriptor", _pb().GetRequest(kind=kind, name=_name(args))), title)
        return 0

    def delete(args):
        call(args, "DeleteDescriptor", _pb().GetRequest(kind=kind, name=_name(args)))
        print(f"All specified {kind.lower()}(s) deleted successfully")
        return 0

    lookup = lambda p: _name_arg(p, kind)  # noqa: E731
    return {"create": ("onboard " + kind, create_setup, create), "list": ("list " + kind + "s", lambda p: None, list_),
            "show": ("show one " + kind, lookup, show_), "delete": ("delete " + kind, lookup, delete)}


# ------------------------------------------------------------------------------------ VIMs
def _vim_commands() -> dict[str, tuple[str, Setup, Handler]]:
    def register_setup(p):
        _name_arg(p, "VIM")
        p.add_argument("--type", default="local")
        p.add_argument("--bridge", required=True, help="the OVS bridge VNF ports land on")
        p.add_argument("--dpid", required=True, type=lambda t: int(t, 0), help="the bridge's datapath id")
        p.add_argument("--ingress-port", default="", help="default classifier in_port: VNF, VNF:CP or OVS port")
        p.add_argument("--egress-port", default="", help="default in_port of reverse (symmetric) paths")
        p.add_argument("--is-default", type=parse_bool, nargs="?", const=True, default=False)
        p.add_argument("--description", default="")

    def register(args):
        record = call(args, "CreateVim", _pb().CreateVimRequest(
            name=_name(args), type=args.type, bridge=args.bridge, dpid=args.dpid, is_default=args.is_default,
            ingress_port=args.ingress_port, egress_port=args.egress_port, description=args.description))
        show(args, record, "VIM")
        return 0

    def update_setup(p):
        _name_arg(p, "VIM")
        p.add_argument("--ingress-port")
        p.add_argument("--egress-port")
        p.add_argument("--is-default", type=parse_bool, nargs="?", const=True)
        p.add_argument("--description")

    def update(args):
        fields = {k: v for k, v in (("ingress_port", args.ingress_port), ("egress_port", args.egress_port),
                                    ("is_default", args.is_default), ("description", args.description)) if v is not None}
        show(args, call(args, "UpdateVim", _pb().UpdateVimRequest(name=_name(args), **fields)), "VIM")
        return 0

    def list_(args):
        show_list(args, call(args, "ListVims", _pb().ListRequest()).vims, "VIMs",
                  ["id", "name", "type", "bridge", "dpid", "is_default", "ingress_port", "egress_port"])
        return 0

    def show_(args):
        show(args, call(args, "GetVim", _pb().GetRequest(name=_name(args))), "VIM")
        return 0

    def delete(args):
        call(args, "DeleteVim", _pb().GetRequest(name=_name(args)))
        print("All specified vim(s) deleted successfully")
        return 0

    lookup = lambda p: _name_arg(p, "VIM")  # noqa: E731
    return {"register": ("register a VIM", register_setup, register), "update": ("update a VIM", update_setup, update),
            "list": ("list VIMs", lambda p: None, list_), "show": ("show a VIM", lookup, show_),
            "delete": ("delete a VIM", lookup, delete)}


# ------------------------------------------------------------------------------------ VNFs
def _vnf_row(v: dict[str, Any]) -> list[str]:
    cps = [f"{c['name']}={c['ovs_port']}" for d in v.get("vdus", []) for c in d.get("cps", [])]
    return [v["id"], v["name"], v["vnfd_name"], v["status"], ", ".join(cps), v.get("reason", "")]


def _vnf_commands() -> dict[str, tuple[str, Setup, Handler]]:
    def create_setup(p):
        _name_arg(p, "VNF")
        p.add_argument("--vnfd-name", required=True)
        p.add_argument("--param-file", help="values for get_input (YAML)")
        p.add_argument("--vim-name", default="")

    def create(args):
        record = call(args, "CreateVnf", _pb().CreateVnfRequest(
            name=_name(args), vnfd_name=args.vnfd_name, params_yaml=_params(args), vim_name=args.vim_name),
            progress=f"instantiating {_name(args)}...")
        show(args, record, "VNF")
        return 0

    def list_(args):
        show_list(args, call(args, "ListVnfs", _pb().ListRequest()).vnfs, "VNFs",
                  ["id", "name", "vnfd", "status", "CPs", "reason"], _vnf_row)
        return 0

    def show_(args):
        show(args, call(args, "GetVnf", _pb().GetRequest(name=_name(args))), "VNF")
        return 0

    def delete(args):
        call(args, "DeleteVnf", _pb().GetRequest(name=_name(args)), progress="terminating...")
        print("All specified vnf(s) deleted successfully")
        return 0

    def heal_setup(p):
        _name_arg(p, "VNF")
        p.add_argument("--vdu")

    def heal(args):
        show(args, call(args, "HealVnf", _pb().HealVnfRequest(name=_name(args), vdu=args.vdu or ""),
                        progress="healing..."), "VNF")
        return 0

    def scale_setup(p):
        _name_arg(p, "VNF")
        p.add_argument("--scaling-policy-name", required=True)
        p.add_argument("--scaling-type", choices=("out", "in"), required=True)

    def scale(args):
        show(args, call(args, "ScaleVnf", _pb().ScaleVnfRequest(name=_name(args), policy=args.scaling_policy_name,
                                                                 direction=args.scaling_type), progress="scaling..."),
             "VNF")
        return 0

    def exec_setup(p):
        p.add_argument("name", help="the VNF")
        p.add_argument("--vdu")
        p.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")

    def exec_(args):
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        reply = call(args, "ExecVnf", _pb().ExecVnfRequest(name=args.name, vdu=args.vdu or "", argv=argv))
        sys.stdout.write(reply.stdout)
        sys.stderr.write(reply.stderr)
        return reply.returncode

    lookup = lambda p: _name_arg(p, "VNF")  # noqa: E731
    return {"create": ("instantiate a VNF (waits until ACTIVE)", create_setup, create),
            "list": ("list VNFs", lambda p: None, list_), "show": ("show a VNF", lookup, show_),
            "delete": ("terminate a VNF", lookup, delete), "heal": ("heal a VNF", heal_setup, heal),
            "scale": ("scale a VNF", scale_setup, scale), "exec": ("run a command in a VDU", exec_setup, exec_)}


# ------------------------------------------------------------------------------------ VNFFGs
def _vnffg_row(v: dict[str, Any]) -> list[str]:
    paths = [f"{p['name']} SPI {p['spi']}" + (f"/{p['reverse_spi']}" if p.get("reverse_spi") else "")
             + ": " + " → ".join(p.get("hops", [])) for p in v.get("paths", [])]
    return [v["id"], v["name"], v["status"], "\n".join(paths), v.get("reason", "")]


def _wait_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-wait", action="store_true", help="return at once (PENDING_*) instead of waiting for ACTIVE")


def _vnffg_commands() -> dict[str, tuple[str, Setup, Handler]]:
    def create_setup(p):
        _name_arg(p, "VNFFG")
        p.add_argument("--chain", default="", help="VNF2,VNF1 (VNF:CP picks a CP; types with --abstract-types)")
        p.add_argument("--abstract-types", action="store_true", help="--chain names VNF types")
        p.add_argument("--symmetrical", type=parse_bool, nargs="?", const=True, default=False)
        p.add_argument("--vnffgd-name", default="")
        p.add_argument("--vnf-mapping", type=parse_mapping, default={}, help="VNFD1:VNF1,VNFD2:VNF2")
        p.add_argument("--param-file", help="values for the VNFFGD's get_input (YAML)")
        p.add_argument("--description", default="")
        _wait_options(p)

    def create(args):
        record = call(args, "CreateVnffg", _pb().CreateVnffgRequest(
            name=_name(args), chain=args.chain, abstract_types=args.abstract_types, symmetrical=args.symmetrical,
            vnffgd_name=args.vnffgd_name, vnf_mapping=args.vnf_mapping, params_yaml=_params(args),
            description=args.description, no_wait=args.no_wait), progress="rendering and waiting for every switch...")
        show(args, record, "VNFFG")
        return 0

    def update_setup(p):
        _name_arg(p, "VNFFG")
        p.add_argument("--chain", default="")
        p.add_argument("--abstract-types", action="store_true")
        p.add_argument("--symmetrical", type=parse_bool, nargs="?", const=True)
        p.add_argument("--vnf-mapping", type=parse_mapping, default={})
        p.add_argument("--description")
        _wait_options(p)

    def update(args):
        fields = {k: v for k, v in (("symmetrical", args.symmetrical), ("description", args.description))
                  if v is not None}
        record = call(args, "UpdateVnffg", _pb().UpdateVnffgRequest(
            name=_name(args), chain=args.chain, abstract_types=args.abstract_types, vnf_mapping=args.vnf_mapping,
            no_wait=args.no_wait, **fields), progress="re-rendering...")
        show(args, record, "VNFFG")
        return 0

    def list_(args):
        show_list(args, call(args, "ListVnffgs", _pb().ListRequest()).vnffgs, "VNFFGs",
                  ["id", "name", "status", "paths", "reason"], _vnffg_row)
        return 0

    def show_(args):
        show(args, call(args, "GetVnffg", _pb().GetRequest(name=_name(args))), "VNFFG")
        return 0

    def delete(args):
        call(args, "DeleteVnffg", _pb().GetRequest(name=_name(args)))
        print("All specified vnffg(s) deleted successfully")
        return 0

    lookup = lambda p: _name_arg(p, "VNFFG")  # noqa: E731
    return {"create": ("create a VNFFG (waits until every switch has it)", create_setup, create),
            "update": ("update a VNFFG", update_setup, update), "list": ("list VNFFGs", lambda p: None, list_),
            "show": ("show a VNFFG", lookup, show_), "delete": ("delete a VNFFG", lookup, delete)}


def _classifier_commands() -> dict[str, tuple[str, Setup, Handler]]:
    def create_setup(p):
        _name_arg(p, "classifier")
        p.add_argument("--chain", required=True, help="the VNFFG")
        p.add_argument("--match", required=True, help="e.g. tcp_dest=80,ip_proto=6")
        p.add_argument("--path", default="", help="the forwarding path, when the VNFFG has several")
        _wait_options(p)

    def create(args):
        record = call(args, "CreateClassifier", _pb().CreateClassifierRequest(
            name=_name(args), chain=args.chain, match=args.match, path=args.path, no_wait=args.no_wait),
            progress="classifying...")
        show(args, record, "Classifier")
        return 0

    def update_setup(p):
        _name_arg(p, "classifier")
        p.add_argument("--match", required=True)
        _wait_options(p)

    def update(args):
        show(args, call(args, "UpdateClassifier", _pb().UpdateClassifierRequest(
            name=_name(args), match=args.match, no_wait=args.no_wait)), "Classifier")
        return 0

    def list_(args):
        show_list(args, call(args, "ListClassifiers", _pb().ListRequest()).classifiers, "Classifiers",
                  ["name", "vnffg", "path", "match", "status"])
        return 0

    def show_(args):
        show(args, call(args, "GetClassifier", _pb().GetRequest(name=_name(args))), "Classifier")
        return 0

    def delete(args):
        call(args, "DeleteClassifier", _pb().GetRequest(name=_name(args)))
        print("All specified classifier(s) deleted successfully")
        return 0

    lookup = lambda p: _name_arg(p, "classifier")  # noqa: E731
    return {"create": ("add a classifier to a VNFFG", create_setup, create),
            "update": ("change a classifier's match", update_setup, update),
            "list": ("list classifiers", lambda p: None, list_), "show": ("show a classifier", lookup, show_),
            "delete": ("delete a classifier", lookup, delete)}


# ------------------------------------------------------------------------------------ NSs
def _ns_commands() -> dict[str, tuple[str, Setup, Handler]]:
    def create_setup(p):
        _name_arg(p, "NS")
        p.add_argument("--nsd-name", required=True)
        p.add_argument("--param-file")
        p.add_argument("--description", default="")

    def create(args):
        record = call(args, "CreateNs", _pb().CreateNsRequest(name=_name(args), nsd_name=args.nsd_name,
                                                               params_yaml=_params(args), description=args.description),
                      progress="instantiating the NS...")
        show(args, record, "NS")
        return 0

    def list_(args):
        show_list(args, call(args, "ListNs", _pb().ListRequest()).ns, "NSs",
                  ["id", "name", "nsd_name", "status", "vnfs", "vnffgs"])
        return 0

    def show_(args):
        show(args, call(args, "GetNs", _pb().GetRequest(name=_name(args))), "NS")
        return 0

    def delete(args):
        call(args, "DeleteNs", _pb().GetRequest(name=_name(args)), progress="deleting the NS...")
        print("All specified ns(s) deleted successfully")
        return 0

    lookup = lambda p: _name_arg(p, "NS")  # noqa: E731
    return {"create": ("instantiate an NS", create_setup, create), "list": ("list NSs", lambda p: None, list_),
            "show": ("show an NS", lookup, show_), "delete": ("delete an NS", lookup, delete)}


def _watch(args: argparse.Namespace) -> int:
    from nfvo.cli.client import stub

    try:
        for event in stub(args).Watch(_pb().WatchRequest(kinds=args.kinds, name=args.name or "")):
            data = to_dict(event)
            print(f"{data['time']:.3f} {data['kind']:<6} {data['name']:<20} {data['old'] or '-'} -> {data['new']}"
                  + (f"  ({data['reason']})" if data.get("reason") else ""), flush=True)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # grpc.RpcError
        details = exc.details() if hasattr(exc, "details") else str(exc)
        raise CliError(f"watch ended: {details}") from None
    return 0


# ------------------------------------------------------------------------------------ wiring
GROUPS: list[tuple[str, str, Callable[[], dict[str, tuple[str, Setup, Handler]]]]] = [
    ("vnffg", "VNF forwarding graphs (service chains)", _vnffg_commands),
    ("vnffgd", "VNFFG descriptors", lambda: _descriptor_commands("VNFFGD", "vnffgd-file")),
    ("nsd", "network service descriptors", lambda: _descriptor_commands("NSD", "nsd-file")),
    ("ns", "network services", _ns_commands),
    ("vim", "VIMs", _vim_commands),
]


def _add(sub, name: str, help_text: str, setup: Setup, handler: Handler, parent) -> None:
    p = sub.add_parser(name, help=help_text, parents=[parent])
    setup(p)
    p.set_defaults(func=handler)


def register(subparsers) -> None:
    parent = common_options()
    vnf = subparsers.add_parser("vnf", help="VNFs and their descriptors")
    vnf_sub = vnf.add_subparsers(dest="vnf_command", metavar="ACTION", required=True)
    descriptor = vnf_sub.add_parser("descriptor", help="VNF descriptors (VNFD)")
    desc_sub = descriptor.add_subparsers(dest="vnfd_command", metavar="ACTION", required=True)
    for action, (help_text, setup, handler) in _descriptor_commands("VNFD", "vnfd-file").items():
        _add(desc_sub, action, help_text, setup, handler, parent)
        _add(subparsers, f"vnfd-{action}", help_text, setup, handler, parent)
    for action, (help_text, setup, handler) in _vnf_commands().items():
        _add(vnf_sub, action, help_text, setup, handler, parent)
        _add(subparsers, f"vnf-{action}", help_text, setup, handler, parent)
    for group, group_help, commands in GROUPS:
        g = subparsers.add_parser(group, help=group_help)
        g_sub = g.add_subparsers(dest=f"{group}_command", metavar="ACTION", required=True)
        for action, (help_text, setup, handler) in commands().items():
            _add(g_sub, action, help_text, setup, handler, parent)
            _add(subparsers, f"{group}-{action}", help_text, setup, handler, parent)
        if group == "vnffg":
            c = g_sub.add_parser("classifier", help="classifiers of VNFFGs")
            c_sub = c.add_subparsers(dest="classifier_command", metavar="ACTION", required=True)
            for action, (help_text, setup, handler) in _classifier_commands().items():
                _add(c_sub, action, help_text, setup, handler, parent)
                _add(subparsers, f"vnffg-classifier-{action}", help_text, setup, handler, parent)
    watch = subparsers.add_parser("watch", help="stream lifecycle events", parents=[parent])
    watch.add_argument("kinds", nargs="*", help="VNF, VNFFG, NS... (default: all)")
    watch.add_argument("--name", help="only this resource")
    watch.set_defaults(func=_watch)
