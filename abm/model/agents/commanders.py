"""Commanders (MODEL.md §3): they execute their side's operations and can be killed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from abm.config.schema import CommanderConfig
from abm.model.agents.base import CrisisAgent, Order

if TYPE_CHECKING:
    from abm.model.model import CrisisModel


class CommanderAgent(CrisisAgent):
    """Executes operations of its roles; while the post is vacant, operations wait."""

    kind = "commander"

    def __init__(self, model: CrisisModel, actor_id: str, cfg: CommanderConfig) -> None:
        super().__init__(model, actor_id)
        self.side = cfg.side
        self.roles = tuple(cfg.executes)
        self.experience = cfg.experience
        self.controllability = cfg.controllability
        self.security = cfg.security
        self.alive = cfg.alive
        self.vacant_until = -1 if cfg.alive else 0
        b = model.behaviour.commanders  # read once (docs/ODD.md §7.17)
        self._successor = (b.successor_experience, b.successor_control)
        self._precedent = (b.precedent_security, b.max_security)

    def report(self) -> None:
        """On duty while dead (a successor is due) or holding orders; otherwise its step does nothing."""
        self.model.on_duty(self, not self.alive or bool(self.orders))

    def enqueue(self, order: Order) -> None:
        super().enqueue(order)
        self.report()

    def execute_due(self) -> None:
        super().execute_due()
        self.report()

    def step(self) -> None:
        if not self.alive:
            if self.model.day < self.vacant_until:
                return  # the post is vacant: operations wait
            self.succeed()
        if self.orders and self.model.free:
            self.execute_due()

    def grip(self) -> float:
        """How well this commander holds its forces to orders (0 while the post is vacant)."""
        return self.experience * self.controllability if self.alive else 0.0

    def killed(self, precedent: bool = True) -> None:
        """The post falls vacant; a decapitation (once per act, however many die in it) makes every
        commander harder to reach, up to a cap."""
        m = self.model
        self.alive = False
        self.vacant_until = m.day + m.world.successor_delay_days
        if precedent:
            added, cap = self._precedent
            for other in m.commanders.values():
                other.security = min(cap, other.security + added)
        m.layout_changed()
        self.report()

    def succeed(self) -> None:
        """A successor takes over: less experienced, less controllable (MODEL.md §3)."""
        self.alive = True
        self.model.layout_changed()
        self.report()
        experience, control = self._successor
        self.experience *= experience
        self.controllability *= control
