"""Kill switch: a stop set for everything, one agent or one tool, read on every action so
that a kill set by any process using the store stops the very next action."""

from __future__ import annotations

from agentguard.errors import AgentStopped
from agentguard.layers.registry import LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Verdict, deny
from agentguard.store.base import KillScope, KillSwitchStore

NAME = "killswitch"


class KillSwitchLayer:
    name = NAME

    def __init__(self, kills: KillSwitchStore) -> None:
        self._kills = kills

    def admit(self, action: Action) -> Verdict:
        kill = self._kills.find_kill(action.agent, action.tool)
        if kill is None:
            return CONTINUE
        if kill.scope is KillScope.ALL:
            resume = "agentguard resume --all"
        else:
            resume = f"agentguard resume --{kill.scope} {kill.target}"
        return deny(
            NAME,
            f"killswitch.{kill.scope}",
            f"{kill.describe()}; the action is refused until `{resume}`",
        )


register(LayerSpec(NAME, 200, lambda ctx: KillSwitchLayer(ctx.store), AgentStopped))
