"""The content incident, replayed: an agent tries to publish 50 unedited drafts.

    python examples/draft_flood/run.py            # on a fresh SQLite file in a temp folder

The agent means to save 50 drafts but calls ``publish_post`` for each. The policy lets it
publish 5 a day on its own; past that, each post is held for a person (and past 10 a day
it would be refused outright). Saving drafts is not limited.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentguard import Denied, Guard

HERE = Path(__file__).resolve().parent
DRAFTS = [f"Draft {n}: notes on the spring release, unedited." for n in range(1, 51)]


@dataclass
class Outcome:
    """What happened, for the end-to-end test."""

    published: list[str] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # (text, code)
    saved: list[str] = field(default_factory=list)


def run(store: str, say: Any = print) -> Outcome:
    guard = Guard.from_file(HERE / "policy.yaml", store)
    outcome = Outcome()

    @guard.tool()
    def save_draft(text: str) -> dict[str, str]:
        outcome.saved.append(text)
        return {"status": "saved"}

    @guard.tool()
    def publish_post(text: str) -> dict[str, str]:
        outcome.published.append(text)
        return {"status": "published"}

    agent = guard.agent("content_agent", session="spring-release")
    for text in DRAFTS:
        try:
            agent.call("publish_post", text=text)  # the bug: should have been save_draft
            say(f"PUBLISHED: {text}")
        except Denied as exc:
            outcome.held.append((text, exc.code))
    say(f"{len(outcome.held)} posts held ({outcome.held[0][1] if outcome.held else '-'})")
    guard.close()
    return outcome


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="agentguard-drafts-"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    result = run(url)
    print(f"\n{len(result.published)} published, {len(result.held)} held; audit log: {url}")
    sys.exit(0 if len(result.published) <= 5 else 1)
