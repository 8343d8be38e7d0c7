"""The social-media incident, replayed: a post in inappropriate slang is never published
unreviewed.

    python examples/social_slang/run.py          # on a fresh SQLite file in a temp folder

A social agent publishes three posts: a clean announcement (published), one in crude
slang, and one that shouts (both held for review: they do not publish). Drafts are never
checked: they are not public.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentguard import Denied, Guard

HERE = Path(__file__).resolve().parent

POSTS = [
    "Our spring collection is here: light jackets, linen shirts and new colours. "
    "Free delivery on orders over $50 until Sunday.",
    "yo this spring drop is lit af 🔥 no cap, wtf are u waiting for?? cop it before it's gone lmfao",
    "LAST CHANCE!!! EVERYTHING MUST GO TODAY ONLY, BUY NOW OR REGRET IT FOREVER!!!",
]


@dataclass
class Outcome:
    """What happened, for the end-to-end test."""

    published: list[str] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # (post, reason code)


def build(store: str) -> tuple[Guard, list[str]]:
    guard = Guard.from_file(HERE / "policy.yaml", store)
    feed: list[str] = []

    @guard.tool()
    def draft_post(text: str) -> str:
        return "draft saved"

    @guard.tool()
    def publish_post(text: str) -> dict[str, str]:
        feed.append(text)
        return {"post_id": f"p{len(feed)}", "status": "published"}

    return guard, feed


def run(store: str, say: Any = print) -> Outcome:
    guard, feed = build(store)
    outcome = Outcome(published=feed)
    agent = guard.agent("social_agent", session="spring-campaign")
    for text in POSTS:
        agent.call("draft_post", text=text)
        try:
            agent.call("publish_post", text=text)
            say(f"PUBLISHED: {text[:60]}")
        except Denied as exc:
            outcome.held.append((text, exc.code))
            say(f"HELD ({exc.code}): {exc.message}")
    guard.close()
    return outcome


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="agentguard-social-"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    result = run(url)
    print(f"\n{len(result.published)} published, {len(result.held)} held; audit log: {url}")
    sys.exit(0 if result.held else 1)
