"""Bundled TOSCA type definitions: Tacker's ``tacker_defs.yaml`` and ``tacker_nfv_defs.yaml``.

Copied byte-for-byte from openstack/tacker (Apache-2.0, commit 0ec99497, tacker/tosca/lib/) so
that loading a descriptor never needs the network or a Tacker checkout.
"""
