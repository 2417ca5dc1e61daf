"""``nfv host list|show``: the default VIM's compute hosts (Nova's hypervisor list), as a gRPC client.

A row says whether the host takes VDUs, which run there, how much of its capacity they asked
for, and where its underlay is (NIC, address, namespace), so an operator can capture the overlay
(``ip netns exec NETNS tcpdump -i UPLINK``). ``fail`` / ``recover``: Masakari's host failure drill
(``nfvo.hostops``). ``add`` / ``remove``: a host joins or leaves the running rack (``nfv up --hosts
N``, N > 1); ``remove`` is refused while VDUs run there unless ``--evacuate`` moves them first.
"""

from __future__ import annotations

import functools
from typing import Any

from nfvo.cli.client import call, common_options, show
from nfvo.cli.crud import Resource, crud_commands

GIB = 2**30


def _row(h: dict[str, Any]) -> list[str]:
    mem, used_mem = int(h.get("mem_bytes", 0)), int(h.get("used_mem_bytes", 0))   # uint64: JSON strings
    underlay = f"{h.get('uplink', '')} {h.get('underlay_ip', '')}".strip() or "-"
    return [h["name"], h["state"] + (f" ({h['reason']})" if h.get("reason") else ""), ", ".join(h.get("vdus", [])) or "-",
            f"{h.get('used_vcpus', 0)}/{h.get('vcpus', 0)}", f"{used_mem / GIB:.1f}/{mem / GIB:.1f} GiB",
            h.get("switch", ""), underlay, h.get("netns", "") or "-"]


HOST = Resource("Host", "Host", "ListHosts", "hosts",
                ("name", "state", "VDUs", "vCPUs used/total", "memory used/total", "switch", "underlay", "namespace"),
                _row)


def register(subparsers) -> None:
    parent = common_options()
    group = subparsers.add_parser("host", help="compute hosts: state, VDUs, capacity, underlay (Nova's hypervisors)")
    sub = group.add_subparsers(dest="host_command", metavar="ACTION", required=True)
    commands = crud_commands(HOST)
    for action in ("list", "show"):
        help_text, setup, handler = commands[action]
        for p in (sub.add_parser(action, help=help_text, parents=[parent]),
                  subparsers.add_parser(f"host-{action}", help=help_text, parents=[parent])):
            setup(p)
            p.set_defaults(func=handler)
    for action, rpc, help_text in (
            ("fail", "FailHost", "a host failure drill: stop its OVS, mark it down, evacuate its VDUs (Masakari)"),
            ("recover", "RecoverHost", "start a failed host's OVS again and take VDUs on it (nothing moves back)")):
        for p in (sub.add_parser(action, help=help_text, parents=[parent]),
                  subparsers.add_parser(f"host-{action}", help=help_text, parents=[parent])):
            p.add_argument("name", help="the compute host, e.g. compute2")
            if action == "fail":
                p.add_argument("--reason", default="", help="why (default: failed by operator)")
            p.set_defaults(func=functools.partial(_act, rpc))
    for p in (sub.add_parser("add", help=ADD_HELP, parents=[parent]),
              subparsers.add_parser("host-add", help=ADD_HELP, parents=[parent])):
        p.add_argument("--name", default="", help="its name (default: the next compute<N>)")
        p.set_defaults(func=_add)
    for p in (sub.add_parser("remove", help=REMOVE_HELP, parents=[parent]),
              subparsers.add_parser("host-remove", help=REMOVE_HELP, parents=[parent])):
        p.add_argument("name", help="the compute host, e.g. compute3 (the hub too: its role moves)")
        p.add_argument("--evacuate", action="store_true", help="rebuild its VDUs on the other hosts first")
        p.set_defaults(func=_remove)


ADD_HELP = "one more compute host on the running rack: namespace, OVS, underlay, VL tunnels, in every chain"
REMOVE_HELP = "take a compute host out of the rack (refused while it holds VDUs, unless --evacuate)"


def _add(args) -> int:
    from nfvo.api.v1 import nfvo_pb2

    reply = call(args, "AddHost", nfvo_pb2.AddHostRequest(name=args.name), progress=f"adding {args.name or 'a host'}")
    _report(args, reply, f"Host {reply.host.name} added")
    return 0


def _remove(args) -> int:
    from nfvo.api.v1 import nfvo_pb2

    reply = call(args, "RemoveHost", nfvo_pb2.RemoveHostRequest(name=args.name, evacuate=args.evacuate),
                 progress=f"removing {args.name}")
    _report(args, reply, f"Host {args.name} removed")
    return 0


def _report(args, reply, title: str) -> None:
    """The host as ``host list`` shows it, then what moved and how long it took (``-f``: the reply)."""
    if args.format != "table":
        show(args, reply, title)
        return
    from nfvo.cli.client import to_dict
    from nfvo.cli.output import print_table

    data = to_dict(reply)
    print_table(f"{title} in {reply.seconds:.1f} s", list(HOST.columns), [_row(data["host"])])
    for what, items in (("evacuated", reply.evacuated), ("skipped", reply.skipped)):
        if items:
            print(f"{what}: {', '.join(items)}")


def _act(rpc: str, args) -> int:
    from nfvo.api.v1 import nfvo_pb2

    reply = call(args, rpc, nfvo_pb2.HostActionRequest(name=args.name, reason=getattr(args, "reason", "")),
                 progress=f"{rpc} {args.name}")
    show(args, reply, f"Host {args.name}")
    return 0
