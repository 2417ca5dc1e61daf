"""``nfv vnf|vnffg|vnffgd|nsd|ns|vim ...``: the NFVO's resources, as a gRPC client.

Each command exists in two spellings: grouped (``nfv vnffg create``, ``nfv vnf descriptor
create``) and Tacker's hyphenated one (``nfv vnffg-create``, ``nfv vnfd-create``), so commands
from Tacker notes work as written. list / show / delete come from one table (``RESOURCES``);
this module holds what differs: create, update and the VNF actions.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nfvo.cli.client import call, common_options, parse_bool, parse_mapping, read_file, show, to_dict
from nfvo.cli.crud import Commands, Resource, crud_commands, name_arg, name_of, pb
from nfvo.cli.errors import CliError
from nfvo.cli.telemetry import stats_commands


def _params(args: argparse.Namespace) -> str:
    return read_file(args.param_file, "parameter file") if getattr(args, "param_file", None) else ""


def _wait_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-wait", action="store_true", help="return at once (PENDING_*) instead of waiting for ACTIVE")


def _vnf_row(v: dict[str, Any]) -> list[str]:
    cps = [f"{c['name']}={c['ovs_port']}" for d in v.get("vdus", []) for c in d.get("cps", [])]
    return [v["id"], v["name"], v["vnfd_name"], v["status"], ", ".join(cps), v.get("reason", "")]


def _vnffg_row(v: dict[str, Any]) -> list[str]:
    paths = [f"{p['name']} SPI {p['spi']}" + (f"/{p['reverse_spi']}" if p.get("reverse_spi") else "")
             + ": " + " → ".join(p.get("hops", [])) for p in v.get("paths", [])]
    return [v["id"], v["name"], v["status"], "\n".join(paths), v.get("reason", "")]


def _descriptor(kind: str) -> Resource:
    return Resource(kind, "Descriptor", "ListDescriptors", "descriptors", ("id", "name", "summary", "description"),
                    kind=kind, update_rpc="UpdateDescriptor")


RESOURCES = {
    "VNFD": _descriptor("VNFD"), "VNFFGD": _descriptor("VNFFGD"), "NSD": _descriptor("NSD"),
    "VIM": Resource("VIM", "Vim", "ListVims", "vims",
                    ("id", "name", "type", "bridge", "dpid", "is_default", "ingress_port", "egress_port")),
    "VNF": Resource("VNF", "Vnf", "ListVnfs", "vnfs", ("id", "name", "vnfd", "status", "CPs", "reason"), _vnf_row,
                    delete_progress="terminating..."),
    "VNFFG": Resource("VNFFG", "Vnffg", "ListVnffgs", "vnffgs", ("id", "name", "status", "paths", "reason"),
                      _vnffg_row),
    "Classifier": Resource("Classifier", "Classifier", "ListClassifiers", "classifiers",
                           ("name", "vnffg", "path", "match", "status")),
    "NS": Resource("NS", "Ns", "ListNs", "ns", ("id", "name", "nsd_name", "status", "vnfs", "vnffgs"),
                   delete_progress="deleting the NS...", update_rpc="UpdateNs"),
}


# ------------------------------------------------------------------------------------ descriptors
def _descriptor_commands(kind: str, file_flag: str) -> Commands:
    def create_setup(p):
        name_arg(p, kind)
        p.add_argument(f"--{file_flag}", dest="file", required=True, metavar="FILE", help=f"the {kind} (TOSCA YAML)")
        p.add_argument("--description", default="")

    def create(args):
        record = call(args, "CreateDescriptor", pb().CreateDescriptorRequest(
            kind=kind, name=name_of(args), template=read_file(args.file, kind), description=args.description),
            subject=f"{kind} {args.file}")
        show(args, record, kind, hide=("template",))
        return 0

    return {"create": ("onboard " + kind, create_setup, create), **crud_commands(RESOURCES[kind])}


# ------------------------------------------------------------------------------------ VIMs
def _vim_commands() -> Commands:
    def register_setup(p):
        name_arg(p, "VIM")
        p.add_argument("--type", default="local")
        p.add_argument("--bridge", required=True, help="the OVS bridge VNF ports land on")
        p.add_argument("--dpid", required=True, type=lambda t: int(t, 0), help="the bridge's datapath id")
        p.add_argument("--ingress-port", default="", help="unused, kept for old scripts: a classifier without "
                       "network_src_port_id takes every port that is not an SF's")
        p.add_argument("--egress-port", default="", help="unused, kept for old scripts")
        p.add_argument("--is-default", type=parse_bool, nargs="?", const=True, default=False)
        p.add_argument("--description", default="")

    def register(args):
        record = call(args, "CreateVim", pb().CreateVimRequest(
            name=name_of(args), type=args.type, bridge=args.bridge, dpid=args.dpid, is_default=args.is_default,
            ingress_port=args.ingress_port, egress_port=args.egress_port, description=args.description))
        show(args, record, "VIM")
        return 0

    def update_setup(p):
        name_arg(p, "VIM")
        p.add_argument("--ingress-port")
        p.add_argument("--egress-port")
        p.add_argument("--is-default", type=parse_bool, nargs="?", const=True)
        p.add_argument("--description")

    def update(args):
        fields = {k: v for k, v in (("ingress_port", args.ingress_port), ("egress_port", args.egress_port),
                                    ("is_default", args.is_default), ("description", args.description)) if v is not None}
        show(args, call(args, "UpdateVim", pb().UpdateVimRequest(name=name_of(args), **fields)), "VIM")
        return 0

    return {"register": ("register a VIM", register_setup, register), "update": ("update a VIM", update_setup, update),
            **crud_commands(RESOURCES["VIM"])}


# ------------------------------------------------------------------------------------ VNFs
def _vnf_commands() -> Commands:
    def create_setup(p):
        name_arg(p, "VNF")
        p.add_argument("--vnfd-name", required=True)
        p.add_argument("--param-file", help="values for get_input (YAML)")
        p.add_argument("--vim-name", default="")

    def create(args):
        record = call(args, "CreateVnf", pb().CreateVnfRequest(
            name=name_of(args), vnfd_name=args.vnfd_name, params_yaml=_params(args), vim_name=args.vim_name),
            progress=f"instantiating {name_of(args)}...")
        show(args, record, "VNF")
        return 0

    def update_setup(p):
        name_arg(p, "VNF")
        p.add_argument("--param-file", required=True, help="new values for get_input (YAML): VDUs are recreated "
                       "with them, keeping their ports, MACs and IPs")

    def update(args):
        show(args, call(args, "UpdateVnf", pb().UpdateVnfRequest(name=name_of(args), params_yaml=_params(args)),
                        progress="updating..."), "VNF")
        return 0

    def heal_setup(p):
        name_arg(p, "VNF")
        p.add_argument("--vdu")

    def heal(args):
        show(args, call(args, "HealVnf", pb().HealVnfRequest(name=name_of(args), vdu=args.vdu or ""),
                        progress="healing..."), "VNF")
        return 0

    def scale_setup(p):
        name_arg(p, "VNF")
        p.add_argument("--scaling-policy-name", required=True)
        p.add_argument("--scaling-type", choices=("out", "in"), required=True)

    def scale(args):
        show(args, call(args, "ScaleVnf", pb().ScaleVnfRequest(name=name_of(args), policy=args.scaling_policy_name,
                                                                direction=args.scaling_type), progress="scaling..."),
             "VNF")
        return 0

    def exec_setup(p):
        p.add_argument("name", help="the VNF")
        p.add_argument("--vdu")
        p.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")

    def exec_(args):
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        reply = call(args, "ExecVnf", pb().ExecVnfRequest(name=args.name, vdu=args.vdu or "", argv=argv))
        sys.stdout.write(reply.stdout)
        sys.stderr.write(reply.stderr)
        return reply.returncode

    def log_setup(p):
        p.add_argument("name", help="the VNF")
        p.add_argument("--vdu", help="default: the first VDU")
        p.add_argument("--instance", type=int, default=0)

    def log_(args):
        reply = call(args, "GetVnfLog", pb().GetVnfLogRequest(name=args.name, vdu=args.vdu or "",
                                                              instance=args.instance))
        sys.stdout.write(reply.text)
        return 0

    return {"create": ("instantiate a VNF (waits until ACTIVE)", create_setup, create),
            "update": ("recreate a VNF's VDUs with new parameters", update_setup, update),
            **crud_commands(RESOURCES["VNF"]),
            "heal": ("heal a VNF", heal_setup, heal), "scale": ("scale a VNF", scale_setup, scale),
            "exec": ("run a command in a VDU", exec_setup, exec_),
            "log": ("print a VDU's console log (first boot's user_data output first)", log_setup, log_)}


# ------------------------------------------------------------------------------------ VNFFGs
def _vnffg_commands() -> Commands:
    def create_setup(p):
        name_arg(p, "VNFFG")
        p.add_argument("--chain", default="", help="VNF2,VNF1 (VNF:CP picks a CP; types with --abstract-types)")
        p.add_argument("--abstract-types", action="store_true", help="--chain names VNF types")
        p.add_argument("--symmetrical", type=parse_bool, nargs="?", const=True, default=False)
        p.add_argument("--vnffgd-name", default="")
        p.add_argument("--vnf-mapping", type=parse_mapping, default={}, help="VNFD1:VNF1,VNFD2:VNF2")
        p.add_argument("--param-file", help="values for the VNFFGD's get_input (YAML)")
        p.add_argument("--description", default="")
        p.add_argument("--failure-policy", choices=("fail-closed", "fail-open"), default="fail-closed",
                       help="a hop with no live instance: drop its traffic (default) or bypass it")
        _wait_options(p)

    def create(args):
        record = call(args, "CreateVnffg", pb().CreateVnffgRequest(
            name=name_of(args), chain=args.chain, abstract_types=args.abstract_types, symmetrical=args.symmetrical,
            vnffgd_name=args.vnffgd_name, vnf_mapping=args.vnf_mapping, params_yaml=_params(args),
            description=args.description, failure_policy=args.failure_policy, no_wait=args.no_wait),
            progress="rendering and waiting for every switch...")
        show(args, record, "VNFFG")
        return 0

    def update_setup(p):
        name_arg(p, "VNFFG")
        p.add_argument("--chain", default="")
        p.add_argument("--abstract-types", action="store_true")
        p.add_argument("--symmetrical", type=parse_bool, nargs="?", const=True)
        p.add_argument("--vnf-mapping", type=parse_mapping, default={})
        p.add_argument("--description")
        p.add_argument("--failure-policy", choices=("fail-closed", "fail-open"))
        _wait_options(p)

    def update(args):
        fields = {k: v for k, v in (("symmetrical", args.symmetrical), ("description", args.description),
                                    ("failure_policy", args.failure_policy)) if v is not None}
        record = call(args, "UpdateVnffg", pb().UpdateVnffgRequest(
            name=name_of(args), chain=args.chain, abstract_types=args.abstract_types, vnf_mapping=args.vnf_mapping,
            no_wait=args.no_wait, **fields), progress="re-rendering...")
        show(args, record, "VNFFG")
        return 0

    return {"create": ("create a VNFFG (waits until every switch has it)", create_setup, create),
            "update": ("update a VNFFG", update_setup, update), **crud_commands(RESOURCES["VNFFG"]),
            **stats_commands()}


def _classifier_commands() -> Commands:
    def create_setup(p):
        name_arg(p, "classifier")
        p.add_argument("--chain", required=True, help="the VNFFG")
        p.add_argument("--match", required=True, help="e.g. tcp_dest=80,ip_proto=6")
        p.add_argument("--path", default="", help="the forwarding path, when the VNFFG has several")
        _wait_options(p)

    def create(args):
        record = call(args, "CreateClassifier", pb().CreateClassifierRequest(
            name=name_of(args), chain=args.chain, match=args.match, path=args.path, no_wait=args.no_wait),
            progress="classifying...")
        show(args, record, "Classifier")
        return 0

    def update_setup(p):
        name_arg(p, "classifier")
        p.add_argument("--match", required=True)
        _wait_options(p)

    def update(args):
        show(args, call(args, "UpdateClassifier", pb().UpdateClassifierRequest(
            name=name_of(args), match=args.match, no_wait=args.no_wait)), "Classifier")
        return 0

    return {"create": ("add a classifier to a VNFFG", create_setup, create),
            "update": ("change a classifier's match", update_setup, update),
            **crud_commands(RESOURCES["Classifier"])}


# ------------------------------------------------------------------------------------ NSs
def _ns_commands() -> Commands:
    def create_setup(p):
        name_arg(p, "NS")
        p.add_argument("--nsd-name", required=True)
        p.add_argument("--param-file")
        p.add_argument("--description", default="")

    def create(args):
        record = call(args, "CreateNs", pb().CreateNsRequest(name=name_of(args), nsd_name=args.nsd_name,
                                                              params_yaml=_params(args), description=args.description),
                      progress="instantiating the NS...")
        show(args, record, "NS")
        return 0

    return {"create": ("instantiate an NS", create_setup, create), **crud_commands(RESOURCES["NS"])}


def _watch(args: argparse.Namespace) -> int:
    from nfvo.cli.client import stub

    try:
        for event in stub(args).Watch(pb().WatchRequest(kinds=args.kinds, name=args.name or "")):
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
GROUPS = [
    ("vnffg", "VNF forwarding graphs (service chains)", _vnffg_commands),
    ("vnffgd", "VNFFG descriptors", lambda: _descriptor_commands("VNFFGD", "vnffgd-file")),
    ("nsd", "network service descriptors", lambda: _descriptor_commands("NSD", "nsd-file")),
    ("ns", "network services", _ns_commands),
    ("vim", "VIMs", _vim_commands),
]


def _add_both(grouped, flat, prefix: str, commands: Commands, parent) -> None:
    """Every action as ``GROUP ACTION`` and as Tacker's ``PREFIX-ACTION``."""
    for action, (help_text, setup, handler) in commands.items():
        for sub, name in ((grouped, action), (flat, f"{prefix}-{action}")):
            p = sub.add_parser(name, help=help_text, parents=[parent])
            setup(p)
            p.set_defaults(func=handler)


def _group(sub, name: str, help_text: str):
    return sub.add_parser(name, help=help_text).add_subparsers(dest=f"{name}_command", metavar="ACTION",
                                                                 required=True)


def register(subparsers) -> None:
    parent = common_options()
    vnf_sub = _group(subparsers, "vnf", "VNFs and their descriptors")
    _add_both(_group(vnf_sub, "descriptor", "VNF descriptors (VNFD)"), subparsers, "vnfd",
              _descriptor_commands("VNFD", "vnfd-file"), parent)
    _add_both(vnf_sub, subparsers, "vnf", _vnf_commands(), parent)
    for group, group_help, commands in GROUPS:
        g_sub = _group(subparsers, group, group_help)
        _add_both(g_sub, subparsers, group, commands(), parent)
        if group == "vnffg":
            _add_both(_group(g_sub, "classifier", "classifiers of VNFFGs"), subparsers, "vnffg-classifier",
                      _classifier_commands(), parent)
    watch = subparsers.add_parser("watch", help="stream lifecycle events", parents=[parent])
    watch.add_argument("kinds", nargs="*", help="VNF, VNFFG, NS... (default: all)")
    watch.add_argument("--name", help="only this resource")
    watch.set_defaults(func=_watch)
