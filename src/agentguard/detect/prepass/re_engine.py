"""The pure-Python engine of the pre-pass (``"re"``): no scan of its own. A probe made of
literals is found with one ``str.find`` loop per needle when a family asks for it
(:func:`find_literals`), and a probe with a pattern needle answers "anywhere", so its
family's regex runs over the whole text (as quick as the probe would be)."""

from __future__ import annotations

from agentguard.detect.prepass.base import Folded, Literal, Needle


class FindEngine:
    """The engine used when hyperscan is not installed; same findings, slower."""

    name = "re"

    def scan(self, prepared: Folded) -> dict[int, list[int]] | None:
        return None


def find_literals(prepared: Folded, needles: tuple[Needle, ...]) -> list[int]:
    """Every position of the literal ``needles`` in ``prepared``, ascending (overlapping
    ones too)."""
    out: list[int] = []
    for needle in needles:
        if not isinstance(needle, Literal):
            raise ValueError("positions() is for probes made of literals; use starts()")
        find = (prepared.low if needle.caseless else prepared.text).find
        word = needle.text
        pos = find(word)
        while pos >= 0:
            out.append(pos)
            pos = find(word, pos + 1)
    return sorted(set(out)) if len(needles) > 1 else out
