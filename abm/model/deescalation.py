"""The de-escalatory acts of MODEL.md §5: when a state can choose each, what it adds to the act's
worth besides reassurance, and what it does. Three tables keyed by the action's name, so adding
an act is adding a row (and a row to `abm.model.actions.ACTIONS`).

Every act is also a signal: the target reads it by Bayes (the action row's `signal`
likelihoods) and the grievance it holds against the actor, read through intent, shrinks with
its belief that the actor's aims are unlimited (`CrisisModel.reassure`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING

from abm.model import bargaining
from abm.model.actions import BY_NAME

if TYPE_CHECKING:
    from abm.model.agents.states import StateAgent
    from abm.model.model import CrisisModel

ROCKETS = BY_NAME["militia_rocket_attack"]


# -- when each act is open to `state` toward `target` ----------------------------------------
def _on_alert(m: CrisisModel, state: StateAgent, target: str) -> bool:
    return state.alert > state.base_alert


def _matter_open(m: CrisisModel, state: StateAgent, target: str) -> bool:
    return target in state.face or target in state.blood or target in state.owed


def _channel(m: CrisisModel, state: StateAgent, target: str) -> bool:
    return m.best_channel(state.actor_id, target) is not None


def _proxies(m: CrisisModel, state: StateAgent, target: str) -> bool:
    return bool(m.topo.proxies.get(state.actor_id)) and state.proxy_restraint < 1.0


def _talks(m: CrisisModel, state: StateAgent, target: str) -> bool:
    other = m.states.get(target)
    if other is None:
        return False
    partners = state.talks_with is other or other.talks_with is state
    return partners and state.talks_offered is None and m.best_channel(state.actor_id, target) is not None


def _sanctions(m: CrisisModel, state: StateAgent, target: str) -> bool:
    return state.adversary == target and state.sanctions_level > 0.0


def _exposed(m: CrisisModel, state: StateAgent, target: str) -> bool:
    return state.posture == "forward" and m.exposed_share(state.actor_id) > 0.0


FEASIBLE: MappingProxyType[str, Callable[[CrisisModel, StateAgent, str], bool]] = MappingProxyType(
    {
        "stand_down": _on_alert,
        "declare_concluded": _matter_open,
        "back_channel_message": _channel,
        "restrain_proxies": _proxies,
        "signal_talks": _talks,
        "ease_sanctions": _sanctions,
        "withdraw_posts": _exposed,
    }
)


# Acts that concede something (pressure, ground, a bargaining chip): public ones cost the climb-down
# of looking weak (`world.climb_down`). Standing down and declaring the matter closed concede nothing
# once the deficit is cleared: Iran's "concluded proportionate measures" of 8 Jan 2020 claimed success.
CONCEDES: frozenset[str] = frozenset({"restrain_proxies", "signal_talks", "ease_sanctions", "withdraw_posts"})


# -- what an act is worth besides reassuring the target (face units) --------------------------
def _nothing(m: CrisisModel, state: StateAgent, owed: float, weight: float) -> float:
    return 0.0


def _leash(m: CrisisModel, state: StateAgent, owed: float, weight: float) -> float:
    """The answers to its proxies' attacks it heads off: a rocket attack's answer per share of slack taken in."""
    slack = (1.0 - state.proxy_restraint) * m.world.restraint_step
    return weight * m.world.proxy_risk * ROCKETS.severity * slack


def _leverage(m: CrisisModel, state: StateAgent, owed: float, weight: float) -> float:
    """Leverage given up: the share of its sanctions lifted, priced at a rocket attack's face per unit of
    sanctions, scaled by how much it demands (relief is what it would trade for its demands)."""
    size = bargaining.DEMAND_SIZE[state.demands] if state.demands else 0.0
    return -state.sanctions_level * m.world.relief_step * ROCKETS.severity * size * state.resolve


def _cover(m: CrisisModel, state: StateAgent, owed: float, weight: float) -> float:
    """The blows it no longer offers at exposed posts: the share of its posts there times the answer it expects."""
    return weight * owed * m.exposed_share(state.actor_id)


BONUS: MappingProxyType[str, Callable[[CrisisModel, StateAgent, float, float], float]] = MappingProxyType(
    {
        "stand_down": _nothing,
        "declare_concluded": _nothing,
        "back_channel_message": _nothing,
        "restrain_proxies": _leash,
        "signal_talks": _nothing,
        "ease_sanctions": _leverage,
        "withdraw_posts": _cover,
    }
)


# -- what each act does ----------------------------------------------------------------------
def _stand_down(m: CrisisModel, state: StateAgent, target: str) -> None:
    state.alert = state.base_alert
    state.alert_until = m.day - 1
    state.last_alert_change = m.day


def _conclude(m: CrisisModel, state: StateAgent, target: str) -> None:
    """The matter is declared closed: its grievance and blood are let go; a breach left open costs credibility."""
    state.face.pop(target, None)
    state.blood.pop(target, None)
    if target in state.breach_day:
        state.breach_unanswered(target)


def _message(m: CrisisModel, state: StateAgent, target: str) -> None:
    return None  # the message is its signal


def _restrain(m: CrisisModel, state: StateAgent, target: str) -> None:
    state.proxy_restraint += (1.0 - state.proxy_restraint) * m.world.restraint_step


def _offer_talks(m: CrisisModel, state: StateAgent, target: str) -> None:
    state.talks_offered = m.day


def _ease(m: CrisisModel, state: StateAgent, target: str) -> None:
    state.sanctions_level *= 1.0 - m.world.relief_step


def _withdraw(m: CrisisModel, state: StateAgent, target: str) -> None:
    state.posture = "consolidated"
    m.close_exposed_posts(state, record=False)


EFFECT: MappingProxyType[str, Callable[[CrisisModel, StateAgent, str], None]] = MappingProxyType(
    {
        "stand_down": _stand_down,
        "declare_concluded": _conclude,
        "back_channel_message": _message,
        "restrain_proxies": _restrain,
        "signal_talks": _offer_talks,
        "ease_sanctions": _ease,
        "withdraw_posts": _withdraw,
    }
)
