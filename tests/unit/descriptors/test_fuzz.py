"""Mutated templates: the loader returns a model or raises ``DescriptorError``, nothing else."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descriptors as d
from tests.unit.descriptors.conftest import CORPUS, SAMPLES

BASES = [yaml.safe_load(p.read_text()) for p in (
    CORPUS / "vnfd/tosca-vnfd-hello-world.yaml", CORPUS / "vnfd/tosca-vnfd-alarm-scale.yaml",
    CORPUS / "vnffgd/tosca-vnffgd-legacy-multiple-classifiers-sample.yaml", SAMPLES / "demo-chain-vnffgd.yaml",
    CORPUS / "nsd/sample-tosca-vnfd1.yaml")]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-70000, 70000), st.text(max_size=12),
                    st.sampled_from(["80-1024", "90-80", "10.0.0.0/8", "::1/128", "VDU1", "CP2", "tosca.nodes.nfv.VL",
                                     "tosca.nodes.nfv.FP.TackerV2", "ping", "respawn"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def _paths(tree: Any, prefix=()) -> list[tuple]:
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(tree: Any, path: tuple, op: str, value: Any) -> Any:
    if not path:
        return value
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if op == "delete":
        del parent[last]
    elif op == "rename" and isinstance(parent, dict):
        parent[str(value)] = parent.pop(last)
    else:
        parent[last] = value
    return tree


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(range(len(BASES))), data=st.data(),
       ops=st.lists(st.tuples(st.sampled_from(["set", "delete", "rename"]), values), min_size=1, max_size=3))
def test_mutated_templates_fail_cleanly(base, data, ops):
    tree = copy.deepcopy(BASES[base])
    for op, value in ops:
        paths = _paths(tree)
        path = data.draw(st.sampled_from(paths))
        tree = _mutate(tree, path, op, value)
    text = yaml.safe_dump(tree, sort_keys=False)
    try:
        model = d.load_any(text, file="fuzz.yaml")
    except d.DescriptorError as exc:
        assert exc.issues and all(isinstance(i, d.Issue) for i in exc.issues)
    else:
        assert model.kind in ("VNFD", "VNFFGD", "NSD")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_fails_cleanly(text):
    try:
        d.load_any(text, file="fuzz.yaml")
    except d.DescriptorError:
        pass
