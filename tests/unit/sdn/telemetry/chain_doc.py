"""A small controller document for the figures' tests: chain ``web`` (path ``http`` through
fw then ids, and its reverse) and a standalone path ``mail`` through NSH-unaware ``nat``."""

from __future__ import annotations

from sdn.document import (Classifier, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch,
                          check_document)
from sdn.match import parse_match

WEB, WEB_REVERSE, MAIL = 10, 11, 20


def document() -> SfcDocument:
    http = parse_match({"ip_dst": "10.0.0.0/24", "tcp_dst": 80})
    return check_document(SfcDocument(
        switches=(Switch("br0", 1),),
        service_functions=(ServiceFunction("fw", (SfInstance("br0", "fw0"),)),
                           ServiceFunction("ids", (SfInstance("br0", "ids0"),)),
                           ServiceFunction("nat", (SfInstance("br0", "nat-in", "nat-out"),), nsh_aware=False)),
        paths=(ServicePath("web/http", WEB, ("fw", "ids"), (Classifier("web/http/c", "client", http),)),
               ServicePath("web/http/reverse", WEB_REVERSE, ("ids", "fw"),
                           (Classifier("web/http/c/reverse", "server", http.reversed()),)),
               ServicePath("mail", MAIL, ("nat",),
                           (Classifier("mail/c", "client", parse_match({"udp_dst": "5000-5100"}), priority=200),
                            Classifier("mail/dscp", "client", parse_match({"ip_dscp": 10, "ip_proto": 6}))))),
    ))
