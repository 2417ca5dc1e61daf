"""The supervisor's decisions as values: back-off, restarts counted, status round trip, exit
descriptions and ``nfv down``'s summary (the processes themselves: tests/integration/nfvo/test_supervised.py)."""

from __future__ import annotations

import signal

from nfvo.supervision import (Backoff, ComponentState, Found, describe_exit, exited, format_uptime, launched,
                              read_status, start_failed, status_document, summary, systemd_unit)

B = Backoff(first=0.1, factor=2.0, cap=1.0, stable=30.0)


def test_backoff_doubles_up_to_the_cap():
    assert [B.delay(n) for n in range(0, 7)] == [0.0, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_a_first_start_is_no_restart_and_each_later_one_is():
    c = launched(ComponentState("controller"), 100, wall=1000.0)
    assert (c.state, c.pid, c.restarts) == ("up", 100, 0)
    c = exited(c, -signal.SIGKILL, wall=1001.0, mono=50.0, backoff=B)
    assert (c.state, c.last_exit, c.failures, c.retry_at) == ("restarting", "killed by SIGKILL", 1, 50.1)
    c = launched(c, 101, wall=1001.2)
    assert (c.state, c.pid, c.restarts, c.last_exit) == ("up", 101, 1, "killed by SIGKILL")


def test_crashing_at_once_backs_off_and_a_stable_run_resets_it():
    c = launched(ComponentState("nfvo"), 1, wall=0.0)
    for n in range(1, 5):   # dies one second after each start
        c = exited(c, 1, wall=c.started + 1.0, mono=10.0 * n, backoff=B)
        assert c.failures == n and c.retry_at == 10.0 * n + B.delay(n)
        c = launched(c, 1 + n, wall=c.started + 1.5)
    c = exited(c, 1, wall=c.started + 60.0, mono=100.0, backoff=B)   # ran a minute: at once again
    assert c.failures == 1 and c.retry_at == 100.1


def test_a_start_that_never_got_ready_counts_as_a_crash():
    c = start_failed(ComponentState("controller", failures=2), "controller did not get ready", mono=5.0, backoff=B)
    assert (c.state, c.pid, c.failures, c.retry_at, c.last_exit) == \
        ("restarting", 0, 3, 5.4, "controller did not get ready")


def test_status_document_round_trips_and_uptime_counts_only_while_up():
    up = launched(ComponentState("ovsdb-server"), 7, wall=100.0)
    down = exited(launched(ComponentState("ovs-vswitchd"), 8, wall=100.0), -9, wall=105.0, mono=1.0, backoff=B)
    pid, started, parts = read_status(status_document(42, 99.0, [up, down]))
    assert (pid, started) == (42, 99.0)
    assert [(c.name, c.state, c.pid, c.restarts, c.last_exit) for c in parts] == \
        [("ovsdb-server", "up", 7, 0, ""), ("ovs-vswitchd", "restarting", 8, 0, "killed by SIGKILL")]
    assert parts[0].uptime(now=112.5) == 12.5 and parts[1].uptime(now=112.5) == 0.0


def test_exits_and_uptimes_read_as_a_user_expects():
    assert describe_exit(0) == "exited 0" and describe_exit(2) == "exited 2"
    assert describe_exit(-15) == "killed by SIGTERM" and describe_exit(-200) == "killed by signal 200"
    assert [format_uptime(s) for s in (0, 3.21, 65, 7384)] == ["-", "3.2s", "1m05s", "2h03m"]


def test_summary_groups_what_was_found_by_kind():
    found = [Found("namespace", "nfab12000"), Found("process", "dnsmasq (pid 3)"), Found("namespace", "nfab12-mon"),
             Found("mount", "/s/vim/servers/x/rootfs")]
    assert summary(found) == ["1 process: dnsmasq (pid 3)", "2 namespaces: nfab12000, nfab12-mon",
                              "1 mount: /s/vim/servers/x/rootfs"]
    assert summary([Found("process", "a"), Found("process", "b")]) == ["2 processes: a, b"]
    assert summary([]) == []


def test_the_systemd_unit_restarts_the_supervisor_alone():
    unit = systemd_unit("/venv/bin/python", "/run/nfvchain", ["--sflow-port", "7000"], "/src")
    assert "ExecStart=/venv/bin/python -m nfvo.supervisor --state-dir /run/nfvchain --sflow-port 7000\n" in unit
    assert "Restart=always\n" in unit and "KillMode=process\n" in unit   # the VDUs survive a restart
    assert "Environment=PYTHONPATH=/src\n" in unit and unit.endswith("WantedBy=multi-user.target\n")
