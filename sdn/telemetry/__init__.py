"""Probes' feeds: pure decoders for sFlow v5, IPFIX (RFC 7011) and NetFlow v9 (RFC 3954), and
the UDP collector shell that runs them.

Pure modules (no I/O, never raise on hostile input; they return what they dropped and why):
  drops      Drop reasons, the per-unit result ``Decoded`` and the ``DropCounts`` tally
  frames     raw sampled frame -> Ethernet, VLANs, NSH (SPI/SI/context) and the inner 5-tuple
  sflow      sFlow v5 datagrams: flow samples (raw headers) and counter samples
  elements   IPFIX information elements (IANA and the VMware ones OVS exports), value decoding
  templates  templates per (exporter, observation domain), data records, held records
  ipfix      IPFIX messages;  netflow9: NetFlow v9 packets (same template machinery)
  observation  the obs_domain_id / obs_point_id layout of sample() actions (path, hop, role)
  catalogue  SPI -> chain, path, hop names and classifiers, from the controller's document
  attribution  plain flows (outside exporters, plain sFlow samples) -> paths, by classifier
  figures    per-chain/path/hop packets, bytes, flows, loss, top talkers over sliding windows
I/O shell:
  collector  UDP listeners on threads, per-exporter statistics, a callback per datagram
  metrics    the figures' thread-safe sink and Prometheus exposition (HTTP on a socket)
"""
