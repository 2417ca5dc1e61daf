"""``nfv sfc``: hand the SDN controller a desired-state document, see what is applied where."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import yaml

from nfvo.cli.client import stack_address
from nfvo.cli.errors import CliError
from nfvo.cli.output import print_table

DEFAULT_ADDRESS = "127.0.0.1:50061"


def register(subparsers) -> None:
    sfc = subparsers.add_parser("sfc", help="service function chaining on the SDN controller")
    sfc.add_argument("--controller", default=None,
                     help=f"the controller's gRPC address (env NFV_SDN_ADDRESS; default: the one `nfv up` "
                          f"started, else {DEFAULT_ADDRESS})")
    sub = sfc.add_subparsers(dest="sfc_command", metavar="ACTION", required=True)
    apply = sub.add_parser("apply", help="make a document the desired state; waits for every switch")
    apply.add_argument("file", help="desired-state document (YAML or JSON), '-' for stdin")
    apply.add_argument("--timeout", type=float, default=60.0)
    apply.set_defaults(func=cmd_apply)
    show = sub.add_parser("show", help="what is applied where")
    show.add_argument("-f", "--format", choices=("table", "json", "yaml"), default="table")
    show.set_defaults(func=cmd_show)
    serve = sub.add_parser("controller", help="run the SDN controller in the foreground (same as nfv-sdn)")
    serve.add_argument("controller_args", nargs="*", help="arguments for nfv-sdn (after --)")
    serve.set_defaults(func=cmd_controller)


def default_controller() -> str:
    """$NFV_SDN_ADDRESS, else the controller a running `nfv up` stack recorded, else the default."""
    return stack_address("NFV_SDN_ADDRESS", "sdn", DEFAULT_ADDRESS)


def _stub(args):
    from sdn.api.server import connect

    args.controller = args.controller or default_controller()
    return connect(args.controller)


def _call(method, request, timeout: float, address: str):
    from sdn.api.status import field_violation

    try:
        return method(request, timeout=timeout)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE:
            raise CliError(f"controller at {address} is not reachable (is nfv-sdn running?)") from None
        violation = field_violation(exc)
        raise CliError(exc.details() or exc.code().name, violation[0] if violation else "") from None


def cmd_apply(args) -> int:
    """The file is parsed and checked here, once; the controller gets the typed document."""
    from sdn.api.convert import document_message
    from sdn.api.v1 import sfc_pb2
    from sdn.docfile import load_document
    from sdn.document import DocumentError

    try:
        text = Path("/dev/stdin").read_text() if args.file == "-" else Path(args.file).read_text()
    except OSError as exc:
        raise CliError(f"{args.file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{args.file}: not a text file") from None
    try:
        doc = load_document(text, args.file)
    except DocumentError as exc:
        raise CliError(str(exc), exc.element) from None
    reply = _call(_stub(args).ApplyDocument, sfc_pb2.ApplyDocumentRequest(document=document_message(doc)),
                  args.timeout, args.controller)
    changes = ", ".join(f"{s.dpid:#x}: {s.changes} changes" for s in reply.switches) or "no switches"
    print(f"generation {reply.generation} acknowledged by every switch in {reply.seconds * 1000:.0f} ms ({changes})")
    return 0


def cmd_show(args) -> int:
    from google.protobuf.json_format import MessageToDict

    from sdn.api.convert import document_value
    from sdn.api.v1 import sfc_pb2
    from sdn.docfile import document_dict

    state = _call(_stub(args).GetState, sfc_pb2.GetStateRequest(), 10.0, args.controller)
    if args.format != "table":
        data = MessageToDict(state, preserving_proto_field_name=True)
        data["document"] = document_dict(document_value(state.document))
        print(json.dumps(data, indent=2) if args.format == "json" else yaml.safe_dump(data, sort_keys=False))
        return 0
    print(f"generation {state.generation}")
    status = {p.name: (sfc_pb2.PathCondition.Name(p.condition).removeprefix("PATH_"), p.reason) for p in state.path_status}
    print_table("Service function paths", ["path", "SPI", "hops", "classifiers", "switch", "status", "reason"],
                [[p.name, str(p.spi), " → ".join(p.hops), ", ".join(p.classifiers), p.switch,
                  *status.get(p.name, ("", ""))] for p in state.paths])
    print_table("Switches", ["switch", "dpid", "connected", "generation", "flows", "groups", "error"],
                [[s.name, f"{s.dpid:#x}", "yes" if s.connected else "no", str(s.generation), str(s.flows),
                  str(s.groups), s.error] for s in state.switches])
    return 0


def cmd_controller(args) -> int:
    from sdn.launcher import main as launcher_main

    return launcher_main(list(args.controller_args))
