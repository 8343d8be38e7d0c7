"""The content incident, replayed: an agent tries to publish 50 unedited drafts.

    python examples/draft_flood/run.py            # on a fresh SQLite file in a temp folder

The agent means to save 50 drafts but calls ``publish_post`` for each. The policy lets it
publish 5 a day on its own; past that, each post is held for a person (an approval request:
``agentguard approvals list``), and past 10 a day it would be refused outright. Saving
drafts is not limited. Whatever was published can be taken down again:
``agentguard rollback --session spring-release``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the policy's call: entries name draft_flood_tools

from agentguard import ApprovalPending, ApprovalTicket, Denied, Guard  # noqa: E402

DRAFTS = [f"Draft {n}: notes on the spring release, unedited." for n in range(1, 51)]
SESSION = "spring-release"


@dataclass
class Outcome:
    """What happened, for the end-to-end test."""

    published: list[str] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # (text, code)
    tickets: list[ApprovalTicket] = field(default_factory=list)  # one per held post
    refused: list[tuple[str, str]] = field(default_factory=list)


def run(store: str, say: Any = print, guard: Guard | None = None) -> Outcome:
    """Let the agent loose on ``store`` (or on ``guard``, which is left open)."""
    own = guard is None
    guard = guard or Guard.from_file(HERE / "policy.yaml", store)
    outcome = Outcome()
    agent = guard.agent("content_agent", session=SESSION)
    for text in DRAFTS:
        try:
            agent.call("publish_post", text=text)  # the bug: should have been save_draft
            outcome.published.append(text)
            say(f"PUBLISHED: {text}")
        except ApprovalPending as pending:
            outcome.held.append((text, pending.code))
            outcome.tickets.append(pending.ticket)
        except Denied as exc:
            outcome.refused.append((text, exc.code))
    first = outcome.held[0] if outcome.held else None
    say(f"{len(outcome.held)} posts held ({first[1] if first else '-'})")
    if own:
        guard.close()
    return outcome


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="agentguard-drafts-"))
    os.environ.setdefault("DRAFT_FLOOD_BLOG", str(folder / "blog.db"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    result = run(url)
    print(f"\n{len(result.published)} published, {len(result.held)} held; audit log: {url}")
    print(f"see them: agentguard approvals list --store {url} --policy {HERE / 'policy.yaml'}")
    sys.exit(0 if len(result.published) <= 5 else 1)
