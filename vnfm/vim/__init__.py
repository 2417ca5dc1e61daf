"""VIM drivers: ``local`` (this host), ``fake`` (unit tests); OpenStack fits the same Protocol."""
