"""Reference NSH-aware service functions (forwarder, firewall, counter)."""
