"""Data plane: what the SDN controller and VNF manager stand on.

ovs (private OVS instance), ovsdb (OVSDB helpers over the IDL), netns (namespaces, veths,
processes in namespaces), nsh (RFC 8300 codec), packet (inner 5-tuple), sf (reference service
functions), ping (ICMP echo), lab (disposable OVS + hosts for tests and benches).
Imports none of the other nfvchain packages.
"""
