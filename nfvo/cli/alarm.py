"""``nfv alarm list|show``: the VNFs' alarms (Tacker's Alarming triggers, evaluated as Aodh does)
with their state, the newest period's value, the threshold, and the history of transitions."""

from __future__ import annotations

import argparse
import time
from typing import Any

from nfvo.cli.client import call, common_options, show, show_list
from nfvo.cli.crud import name_arg, name_of, pb

COLUMNS = ["name", "vnf", "state", "condition", "value", "actions", "since"]


def _value(a: dict[str, Any]) -> str:
    return f"{a['value']:.3g}" if a.get("has_value") else "-"


def _actions(a: dict[str, Any]) -> str:
    return ", ".join(f"{x['target']} {x['direction']}" if x["kind"] == "scaling" else
                     f"webhook {x['target']}" if x["kind"] == "webhook" else x["kind"] for x in a["actions"])


def _row(a: dict[str, Any]) -> list[str]:
    cond = (f"{a['aggregation_method']}({a['metric']}) {a['comparison_operator']} {a['threshold']:g} "
            f"[{a['evaluations']} x {a['granularity']:g}s]")
    return [a["name"], a["vnf_name"], a["state"], cond, _value(a), _actions(a),
            time.strftime("%H:%M:%S", time.localtime(a["since"])) if a["since"] else "-"]


def _list(args: argparse.Namespace) -> int:
    reply = call(args, "ListAlarms", pb().ListAlarmsRequest(vnf=args.vnf or ""))
    show_list(args, reply.alarms, "Alarms", COLUMNS, _row)
    return 0


def _show(args: argparse.Namespace) -> int:
    alarm = call(args, "GetAlarm", pb().GetRequest(name=name_of(args)))
    if args.format != "table":
        show(args, alarm, "Alarm")
        return 0
    show(args, alarm, "Alarm", hide=("history", "has_value"))
    if alarm.history:
        from nfvo.cli.output import print_table

        print_table("History", ["time", "old", "new", "value", "reason"], [
            [time.strftime("%H:%M:%S", time.localtime(h.time)), h.old, h.new,
             f"{h.value:.3g}" if h.has_value else "-", h.reason] for h in alarm.history])
    return 0


def register(subparsers) -> None:
    parent = common_options()
    group = subparsers.add_parser("alarm", help="the VNFs' alarms: state, value, threshold, history")
    sub = group.add_subparsers(dest="alarm_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="list alarms", parents=[parent])
    p.add_argument("--vnf", help="only this VNF's (name or id)")
    p.set_defaults(func=_list)
    p = sub.add_parser("show", help="show an alarm (id, trigger name, or VNF/TRIGGER) and its history",
                       parents=[parent])
    name_arg(p, "alarm")
    p.set_defaults(func=_show)
