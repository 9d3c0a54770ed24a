"""What every agent shares: an id from the config, its own random block, an order queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import mesa

from abm.model.actions import Action
from abm.model.streams import Draw, normal_quantile

if TYPE_CHECKING:
    from abm.model.model import CrisisModel


@dataclass(slots=True)
class Order:
    """A decided operation waiting for its day: who decided it, against whom, where."""

    action: Action
    side: str
    target: str
    target_side: str
    due: int
    site: str | None = None
    via_proxy: bool = False
    commander: str | None = None


class CrisisAgent(mesa.Agent):
    """Base of states, commanders and militias.

    `actor_id` is the config's id (Mesa's `unique_id` is a per-model counter and says
    nothing to a user). Random numbers come from the agent's own block, by day and purpose.
    """

    kind: ClassVar[str] = "actor"
    model: CrisisModel

    def __init__(self, model: CrisisModel, actor_id: str) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self._u = model.streams.blocks[actor_id]
        self.orders: list[Order] = []

    def draw(self, purpose: Draw) -> float:
        """Today's uniform for `purpose` (a fixed cell of this agent's block).

        `item` gives the cell as a Python float (the same double `float(...)` would) without
        making a numpy scalar first: half the cost, on a hot path.
        """
        return self._u.item(self.model.day, purpose)

    def chance_days(self, purpose: Draw, ceiling: float) -> frozenset[int]:
        """Days on which an event of `purpose`, whose daily chance never exceeds `ceiling`, can happen.

        The event happens when the day's fixed draw falls below its chance; on the other days
        it cannot, whatever the chance turns out to be, so the agent skips working it out.
        Exact, not an approximation: results are the same with or without the shortcut.
        """
        return frozenset((self._u[:, purpose] < ceiling).nonzero()[0].tolist())  # np.flatnonzero costs twice as much

    def normal(self) -> float:
        """Today's standard normal (the quantile of the SIZE uniform)."""
        return normal_quantile(self._u.item(self.model.day, Draw.SIZE))

    def enqueue(self, order: Order) -> None:
        self.orders.append(order)
        self.orders.sort(key=lambda o: o.due)
        pending = self.model.pending
        key = (order.side, order.target)
        pending[key] = pending.get(key, 0) + 1

    def execute_due(self) -> None:
        """Carry out at most one order that has come due (one operation a day per executor)."""
        if self.orders and self.orders[0].due <= self.model.day:
            order = self.orders.pop(0)
            self.model.pending[(order.side, order.target)] -= 1
            self.model.execute(order, self)
