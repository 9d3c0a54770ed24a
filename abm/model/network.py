"""The regional network (MODEL.md §4): a typed networkx graph built from the scenario.

Agents perceive and act only along its edges: a strike needs a `reach` edge to a site, a
strike hurts whoever has a `presence` edge there and whoever `host`s it, militias take
orders along `patron` edges, talks travel along `channel` edges. The graph is built from the
config, so a user adds an actor or a site in YAML. `Topology` holds the lookups the rules
read on the hot path, derived once from the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from abm.config.schema import Scenario

EDGE_KINDS = ("command", "patron", "alliance", "host", "presence", "reach", "channel")


def build_graph(scenario: Scenario) -> nx.MultiDiGraph:
    """Nodes for actors and sites, typed edges (attribute `kind`) between them."""
    g = nx.MultiDiGraph(name=scenario.name)
    for sid in scenario.states:
        g.add_node(sid, kind="state")
    for cid in scenario.commanders:
        g.add_node(cid, kind="commander")
    for mid in scenario.militias:
        g.add_node(mid, kind="militia")
    for sid in scenario.sites:
        g.add_node(sid, kind="site", site_kind=scenario.sites[sid].kind)
    for cid, c in scenario.commanders.items():
        for force in c.commands:
            g.add_edge(cid, force, kind="command")
    for mid, m in scenario.militias.items():
        if m.patron:
            g.add_edge(m.patron, mid, kind="patron")
        for site in m.reach:
            g.add_edge(mid, site, kind="reach")
    for a, b in scenario.alliances:
        g.add_edge(a, b, kind="alliance")
        g.add_edge(b, a, kind="alliance")
    for sid, st in scenario.states.items():
        for site in st.reach:
            g.add_edge(sid, site, kind="reach")
    for site_id, site in scenario.sites.items():
        if site.host:
            g.add_edge(site.host, site_id, kind="host")
        for actor in site.present:
            g.add_edge(actor, site_id, kind="presence", owner=actor == site.owner)
        if site.owner and site.owner not in site.present:
            g.add_edge(site.owner, site_id, kind="presence", owner=True)
    for name, ch in scenario.channels.items():
        a, b = ch.between
        for u, v in ((a, b), (b, a)):
            g.add_edge(
                u,
                v,
                key=name,
                kind="channel",
                open=ch.open,
                effectiveness=ch.effectiveness,
                passes_warnings=ch.passes_warnings,
                via=ch.via,
            )
    return g


def _targets(g: nx.MultiDiGraph, node: str, kind: str) -> tuple[str, ...]:
    return tuple(v for _, v, k in g.out_edges(node, data="kind") if k == kind)


def _sources(g: nx.MultiDiGraph, node: str, kind: str) -> tuple[str, ...]:
    return tuple(u for u, _, k in g.in_edges(node, data="kind") if k == kind)


@dataclass(frozen=True)
class Topology:
    """Read-only lookups derived from the graph (the per-run mutable part lives in the model).

    Tuples, sorted, never sets: set order of strings changes between processes, and the
    rules must iterate in the same order in every worker for runs to be reproducible.
    """

    graph: nx.MultiDiGraph
    reach: dict[str, tuple[str, ...]]
    present: dict[str, tuple[str, ...]]
    host: dict[str, str | None]
    kind: dict[str, str]  # site kind (MODEL.md §4): which actions can hit it
    patron: dict[str, str | None]
    proxies: dict[str, tuple[str, ...]]
    allies: dict[str, tuple[str, ...]]
    channels: dict[str, tuple[str, str, bool, float, bool, str | None]]  # (a, b, open, effectiveness, warns, via)
    # Feasible options by (chooser, target, layout), filled by the runs of this scenario
    # (CrisisModel.options_for). They depend only on the scenario and the layout, so every run
    # in a worker can share them.
    options: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_graph(cls, g: nx.MultiDiGraph) -> Topology:
        nodes = dict(g.nodes(data="kind"))
        actors = [n for n, k in nodes.items() if k != "site"]
        sites = [n for n, k in nodes.items() if k == "site"]
        channels = {
            key: (u, v, d["open"], d["effectiveness"], d["passes_warnings"], d["via"])
            for u, v, key, d in g.edges(keys=True, data=True)
            if d["kind"] == "channel" and u < v
        }
        return cls(
            graph=g,
            reach={a: _targets(g, a, "reach") for a in actors},
            present={s: tuple(sorted(set(_sources(g, s, "presence")))) for s in sites},
            host={s: next(iter(_sources(g, s, "host")), None) for s in sites},
            kind={s: g.nodes[s]["site_kind"] for s in sites},
            patron={a: next(iter(_sources(g, a, "patron")), None) for a in actors},
            proxies={a: _targets(g, a, "patron") for a in actors},
            allies={a: tuple(sorted(set(_targets(g, a, "alliance")))) for a in actors},
            channels=channels,
        )


_CACHE: dict[int, tuple[Scenario, Topology]] = {}


def topology(scenario: Scenario) -> Topology:
    """Topology of a scenario, built once per scenario object in a worker (runs share it)."""
    hit = _CACHE.get(id(scenario))
    if hit is not None and hit[0] is scenario:
        return hit[1]
    if len(_CACHE) > 16:
        _CACHE.clear()
    topo = Topology.from_graph(build_graph(scenario))
    _CACHE[id(scenario)] = (scenario, topo)
    return topo
