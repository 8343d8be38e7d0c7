"""Identity: who is acting. Resolves an API key to its agent, or checks a named agent."""

from __future__ import annotations

from agentguard.clock import Clock
from agentguard.errors import Unauthenticated
from agentguard.keys import authenticate
from agentguard.layers.registry import LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Reason, Step, Verdict, deny
from agentguard.policy import LoadedPolicy
from agentguard.store.base import KeyStore

NAME = "identity"


class IdentityLayer:
    """Denies unknown or disabled agents and bad keys; records which key was used.

    An action with a ``credential`` (API key) acts as the key's agent; naming a different
    agent alongside the key is refused. An action without a key is trusted to name its
    agent (in-process use); the HTTP gateway always requires a key.
    """

    name = NAME

    def __init__(self, policy: LoadedPolicy, keys: KeyStore, clock: Clock) -> None:
        self._agents = policy.model.agents
        self._keys = keys
        self._clock = clock

    def admit(self, action: Action) -> Verdict:
        if action.credential is None:
            return self._check_agent(action.agent) or CONTINUE
        check = authenticate(self._keys, action.credential, self._clock.now())
        if check.record is None:
            return deny(NAME, check.code, check.message)
        record = check.record
        if action.agent and action.agent != record.agent:
            return deny(
                NAME,
                "identity.agent_mismatch",
                f"API key {record.key_id} belongs to agent {record.agent!r}, not {action.agent!r}",
            )
        refused = self._check_agent(record.agent)
        if refused is not None:
            return refused
        resolved = action.with_changes(
            agent=record.agent, credential=None, key_id=record.key_id, key_tools=record.tools
        )
        return Verdict(Step.CONTINUE, (Reason(NAME, check.code, check.message),), resolved)

    def _check_agent(self, agent: str) -> Verdict | None:
        spec = self._agents.get(agent)
        if spec is None:
            return deny(
                NAME,
                "identity.unknown_agent",
                f"agent {agent!r} is not defined in the policy; add it under 'agents:'",
            )
        if not spec.enabled:
            return deny(
                NAME,
                "identity.agent_disabled",
                f"agent {agent!r} is disabled in the policy (enabled: false)",
            )
        return None


register(
    LayerSpec(
        NAME, 100, lambda ctx: IdentityLayer(ctx.policy, ctx.store, ctx.clock), Unauthenticated
    )
)
