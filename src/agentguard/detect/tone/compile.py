"""Compiling the word list into a few fast patterns (used by :mod:`agentguard.detect.tone.scan`).

CPython's ``re`` scans quickly only for a pattern that starts with one literal character: it
skips with a tight C loop and tries a match only where that character occurs. An
alternation of hundreds of words, or one starting at every word boundary, tries a match at
nearly every character and runs at 5–15 MB/s. So the forms are compiled into about fifteen
*anchored* patterns instead:

* every form gets an **anchor**, one of its letters: the letters are a cheapest cover of the
  list weighted by English letter frequency (an exact search over a greedy start), and each
  form takes its rarest one, so most patterns start with ``k``, ``f``, ``b``, ``y``, ``w`` …;
* after the anchor, one literal character is read as a dispatch (``re`` rejects a branch
  that starts with a literal in one comparison; leetspeak symbols are one class);
* then the letters *before* the anchor are checked with fixed-width look-behinds (known
  width, as the characters just read are fixed), arranged as a reversed trie that opens
  with one check of the next few positions at once, where most tries fail;
* then the rest of the form is matched forwards, with leetspeak classes (``[s5$]``,
  ``[i1!]``; any vowel may be written with a vowel symbol: ``f4ck``) and stretched letters
  (``fuuuck``: a run stretches to three or more, so ``asses`` never reads ``assess``);
* a gap between words (``" "`` in a form: ``screw you``) matches one non-word character
  before the anchor and one to three after it; a gap between spaced-out letters (``"_"``:
  ``f_u_c_k``) one space, dot, dash, underscore, asterisk or tilde before the anchor and one
  or two after it (``f u c k``, ``f. u. c. k.``), not ``=`` or ``+``, so ``k = y.s`` is maths.

No pattern has a capturing group: ``re`` clears every group before each try, and one group
per path made every try four times as dear. Where a word starts is found afterwards, from
the anchor back (:meth:`agentguard.detect.tone.scan.WordScanner`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["LEET_CHARS", "NOT_BEFORE", "WORD_CHARS", "compile_forms"]

#: leetspeak spellings of a letter, as a regex class body
#: (any vowel may also be written with another vowel's symbol: f4ck, f0ck, f@ck)
_VOWEL_MASKS = "0134@!"
_LEET: dict[str, str] = {
    "a": "a" + _VOWEL_MASKS, "e": "e" + _VOWEL_MASKS, "i": "i" + _VOWEL_MASKS,
    "o": "o" + _VOWEL_MASKS, "u": "u" + _VOWEL_MASKS, "l": "l1", "s": "s5$", "t": "t7",
}  # fmt: skip
#: every character that may stand for a letter
LEET_CHARS = frozenset("0134578@$!")
#: characters of a word, as a regex class body; a form is matched only as a whole word
WORD_CHARS = "a-z0-9@$"
#: what may not come right before a word ("@" may: a mention, @fuckface)
NOT_BEFORE = "a-z0-9$"
_SEP = f"[^{WORD_CHARS}\\n]"
#: the gap atoms of a form: between words, and between spaced-out letters
_GAPS = {" ": _SEP, "_": r"[ .\-_*~]"}
#: the character after a word (the text scanned ends with a space)
_END = f"[^{WORD_CHARS}]"
_MAX_STRETCH = 16
#: letter frequency in English prose, per mille of characters (lower-cased)
_FREQ: dict[str, float] = {
    "a": 56.1, "b": 11.8, "c": 28.9, "d": 29.5, "e": 98.5, "f": 19.3, "g": 12.8, "h": 26.7,
    "i": 54.4, "j": 1.4, "k": 4.0, "l": 32.3, "m": 19.9, "n": 52.9, "o": 50.6, "p": 19.2,
    "q": 1.1, "r": 50.0, "s": 51.0, "t": 75.3, "u": 22.3, "v": 6.3, "w": 8.6, "x": 4.5,
    "y": 9.3, "z": 0.9,
}  # fmt: skip
#: one more pattern scan, in the units of _FREQ (a scan costs about as much as tries at
#: four characters in a thousand)
_PASS_COST = 4.0


#: a form as atoms: its characters, ``" "`` standing for a gap between words and ``"_"``
#: for one between spaced-out letters
_Form = tuple[str, ...]


def _letter_class(ch: str) -> str:
    alts = _LEET.get(ch)
    return f"[{re.escape(alts)}]" if alts else re.escape(ch)


def _cost(letter: str) -> float:
    return _PASS_COST + _FREQ.get(letter, 1.0)


def _cover(sets: list[frozenset[str]], budget: int = 20000) -> set[str]:
    """Cheapest set of letters meeting every set (weighted hitting set): greedy first,
    then an exact branch-and-bound search within ``budget`` steps to improve on it."""
    minimal = sorted({s for s in sets if not any(o < s for o in sets)}, key=len)
    chosen: set[str] = set()
    todo = list(minimal)
    while todo:
        counts: dict[str, int] = defaultdict(int)
        for letters in todo:
            for letter in letters:
                counts[letter] += 1
        pick = min(sorted(counts), key=lambda letter: _cost(letter) / counts[letter])
        chosen.add(pick)
        todo = [s for s in todo if pick not in s]
    best = (sum(map(_cost, chosen)), frozenset(chosen))
    steps = 0

    def search(picked: frozenset[str], cost: float) -> None:
        nonlocal best, steps
        steps += 1
        if cost >= best[0] or steps > budget:
            return
        open_set = next((s for s in minimal if not s & picked), None)
        if open_set is None:
            best = (cost, picked)
            return
        for letter in sorted(open_set, key=_cost):
            search(picked | {letter}, cost + _cost(letter))

    search(frozenset(), 0.0)
    return set(best[1])


def _choose_anchors(forms: list[_Form]) -> dict[_Form, int]:
    """Anchor each form at the rarest letter of a cheap cover of the list, preferring
    letters without leetspeak spellings (leetspeak at the anchor itself is not matched)
    and letters with something after them (a pattern whose anchor ends the word is tried
    at every word that ends in that letter). Rare anchors keep the patterns of common
    letters small, and so each try on them short."""
    letter_sets = {f: frozenset(a for a in f if a not in _GAPS) for f in forms}
    chosen = _cover(list(set(letter_sets.values())))
    anchors = {}
    for form in forms:

        def rank(i: int, form: _Form = form) -> tuple[bool, bool, float, int]:
            return (form[i] in _LEET, i == len(form) - 1, _cost(form[i]), i)

        anchors[form] = min((i for i, a in enumerate(form) if a in chosen), key=rank)
    return anchors


#: a forward step: an atom the form has ``n`` times in a row, ``done`` of them already read
_Step = tuple[str, int, int]


def _steps(atoms: tuple[str, ...]) -> list[_Step]:
    """Runs of equal atoms as forward steps."""
    steps: list[_Step] = []
    for atom in atoms:
        if steps and steps[-1][0] == atom:
            steps[-1] = (atom, steps[-1][1] + 1, 0)
        else:
            steps.append((atom, 1, 0))
    return steps


def _step_regex(step: _Step) -> str:
    """A letter run stretches only to three or more (``fuuuck``): a single letter never
    doubles, so ``asses`` does not become ``assess`` nor ``wop`` ``woop``. Separators vary."""
    atom, n, done = step
    if atom in _GAPS:
        return f"{_GAPS[atom]}{{{max(n - done, 0)},{n + 1 - done + (atom == ' ')}}}"
    cls = _letter_class(atom)
    if n == 1:
        return (
            f"{cls}{{{1 - done}}}(?:{cls}{{2,{_MAX_STRETCH}}})?"
            if not done
            else f"(?:{cls}{{2,{_MAX_STRETCH}}})?"
        )
    return f"{cls}{{{n - done},{n - done + _MAX_STRETCH}}}"


class _Node:
    __slots__ = ("ahead", "bare", "behind", "children", "end")

    def __init__(self) -> None:
        self.children: dict[_Step, _Node] = {}  # forward trie
        self.behind: dict[str, _Node] = {}  # reversed trie of the letters before the anchor
        self.ahead: _Node | None = None  # forward trie of the forms whose word starts here
        self.end = False  # a form ends here: check that the word does
        self.bare = False  # a form ends here and the character after it was read


def _cls(atom: str) -> str:
    return _GAPS.get(atom) or _letter_class(atom)


def _dispatch_keys(atom: str) -> list[str]:
    """How the character after the anchor is read: the letter itself as a literal, and its
    leetspeak symbols as one class (the same class for every vowel, so their branches
    merge)."""
    if atom in _GAPS:
        return [_GAPS[atom]]
    symbols = _LEET.get(atom, atom).replace(atom, "")
    keys = [re.escape(atom)]
    if symbols:
        keys.append(re.escape(symbols) if len(symbols) == 1 else f"[{re.escape(symbols)}]")
    return keys


def _guard(node: _Node, most: int = 4) -> str:
    """Classes for the next letters back from ``node``, one per position, each the union
    over every branch, as deep as every branch goes (at most ``most``): ``[tn]i[te]`` for
    ti(t)s, (tr)annies and (t)itties."""
    levels: list[set[str]] = []
    frontier = [node]
    while len(levels) < most and frontier and all(n.behind and n.ahead is None for n in frontier):
        levels.append({atom for n in frontier for atom in n.behind})
        frontier = [child for n in frontier for child in n.behind.values()]
    out = []
    for atoms in reversed(levels):
        chars = {c for atom in atoms if atom not in _GAPS for c in _LEET.get(atom, atom)}
        classes = ["[" + re.escape("".join(sorted(chars))) + "]"] if chars else []
        classes += [_GAPS[atom] for atom in sorted(atoms) if atom in _GAPS]
        out.append(classes[0] if len(classes) == 1 else "(?:" + "|".join(classes) + ")")
    return "".join(out)


def _emit_ahead(node: _Node) -> str:
    """The forward part: a trie, so that each try compares a few atoms, not every form."""
    alts = []
    for step, child in sorted(node.children.items()):
        alts.append(_step_regex(step) + _emit_ahead(child))
    if node.end:
        alts.append(f"(?![{WORD_CHARS}])")
    if node.bare:  # the word's end was read already (the anchor ends it)
        alts.append("")
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _compile_anchor(anchor: str, items: list[tuple[_Form, int]]) -> tuple[re.Pattern[str], int]:
    """One pattern for all forms anchored at ``anchor``; returns it with the most
    characters a word starts before its anchor.

    Shape: the anchor; then one literal character after it (a cheap dispatch, as ``re``
    rejects a branch that starts with a literal in one comparison); then look-behinds for
    the letters before the anchor (a reversed trie, fixed width as the two characters just
    read are known); then the rest of the form forwards. The text it runs on starts with a
    space, so that every word has a character before it to check.

    The pattern has no capturing group: ``re`` clears every group before each try, and a
    group per path made a try four times as dear. Where the word starts is found afterwards
    (:meth:`WordScanner._scan_words`)."""
    dispatch: dict[str, _Node] = {}
    for form, at in items:
        steps = _steps(form[at + 1 :])
        if steps:
            (atom, n, _), tail = steps[0], steps[1:]
            keys = _dispatch_keys(atom)
            rest = [(atom, n, 1), *tail]
        else:  # the anchor ends the word: read the character after it
            keys, rest = [_END], []
        for key in keys:
            node = dispatch.setdefault(key, _Node())
            for atom in reversed(form[:at]):
                node = node.behind.setdefault(atom, _Node())
            if node.ahead is None:
                node.ahead = _Node()
            ahead = node.ahead
            for step in rest:
                ahead = ahead.children.setdefault(step, _Node())
            if key == _END:
                ahead.bare = True
            else:
                ahead.end = True
    first = re.escape(anchor)

    def emit(node: _Node, path: str, depth: int) -> str:
        # path: the classes from the deepest letter passed so far to the last one read; a
        # look-behind is only written where the trie branches or a word starts
        while node.ahead is None and len(node.behind) == 1:
            ((atom, node),) = node.behind.items()
            path, depth = _cls(atom) + path, depth + 1
        alts = []
        if node.ahead is not None:
            alts.append(f"(?<=[^{NOT_BEFORE}]{path}){_emit_ahead(node.ahead)}")
        behind = []
        for atom, child in sorted(node.behind.items()):
            sub = emit(child, _cls(atom) + path, depth + 1)
            # a child that opens with its own look-behind needs no check here
            behind.append(
                sub if sub.startswith(("(?<=", "(?:(?<=")) else f"(?<={_cls(atom)}{path}){sub}"
            )
        if len(behind) > 1:
            # one check of the next few letters first (a class per position, over all the
            # branches): most tries fail here, before trying each branch
            alts.append(f"(?<={_guard(node)}{path})(?:" + "|".join(behind) + ")")
        else:
            alts.extend(behind)
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    # literals first (re rejects them in one comparison), then classes; the end of a word
    # before a separator, so that a word wins over a spaced-out or phrase reading
    order = sorted(dispatch, key=lambda k: (k.startswith("["), k in _GAPS.values(), k))
    alts = [key + emit(dispatch[key], first + key, 0) for key in order]
    return re.compile(first + "(?:" + "|".join(alts) + ")"), max(at for _, at in items)


def compile_forms(forms: Iterable[_Form]) -> list[tuple[re.Pattern[str], int]]:
    """Patterns finding the forms (tuples of characters and gaps, see ``_Form``) in a text
    with a space added at both ends, each with the most characters a word starts before
    its match; see the module docstring."""
    anchors = _choose_anchors(list(dict.fromkeys(forms)))
    groups: dict[str, list[tuple[_Form, int]]] = defaultdict(list)
    for form, at in anchors.items():
        groups[form[at]].append((form, at))
    return [_compile_anchor(a, items) for a, items in sorted(groups.items())]
