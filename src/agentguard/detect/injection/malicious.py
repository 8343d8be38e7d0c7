"""``MALICIOUS_INPUT``: ``path_traversal``, ``shell_injection`` and ``sql_injection``.

In free text only high-confidence forms are reported (encoded traversal, ``../`` runs that
reach ``/etc/passwd``, ``; rm -rf``, ``$(curl …)``, ``/dev/tcp``, ``' OR '1'='1``,
``'; DROP TABLE``). :data:`KIND_CHECKS` holds the strict checks for a value of a known kind:
any ``..`` segment in a path, any command separator or substitution in a shell word, any
quote break in a SQL literal."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from agentguard.detect.injection.common import PATH, SHELL, SQL, Hit, start_of_line

if TYPE_CHECKING:
    from agentguard.detect.injection.scan import Scan

_I = re.IGNORECASE

_TRAVERSAL = re.compile(
    r"(?:(?:\.|%2e|%252e|%c0%ae|%e0%80%ae|%u002e){2,4}"
    r"(?:/|\\|%2f|%5c|%252f|%255c|%c0%af|%c1%9c|%e0%80%af|%u2215)+)++",
    _I,
)
_DOT_PAIR = re.compile(r"\.\.|%2e%2e|%252e%252e|(?:%c0%ae){2}|\.%2e|%2e\.", _I)
_SENSITIVE = re.compile(
    r"(?:^|[/\\])(?:etc[/\\](?:passwd|shadow|group|sudoers|hosts|crontab|ssh)|proc[/\\]self|"
    r"root[/\\]|\.ssh[/\\]|\.aws[/\\]|\.gnupg|\.kube[/\\]config|\.docker[/\\]config|"
    r"\.env\b|\.git[/\\]config|id_rsa|id_ed25519|\.htpasswd|wp-config\.php|web\.config|"
    r"boot\.ini|win\.ini|windows[/\\]system32|system32[/\\]config|var[/\\]run[/\\]docker\.sock|"
    r"\.bash_history|\.netrc|\.pgpass)",
    _I,
)
_ABSOLUTE = re.compile(r"^(?:file://|~[/\\]|/|[A-Za-z]:[/\\]|\\\\)", _I)
_SHELL_CMD = (
    r"(?:sudo\s+)?(?:rm|curl|wget|nc|ncat|netcat|bash|sh|zsh|ksh|dash|python\d?|perl|ruby|php|"
    r"chmod|chown|cat|echo|id|whoami|uname|ping|sleep|powershell|pwsh|cmd|certutil|base64|"
    r"eval|exec|kill|shutdown|reboot|mkfifo|telnet|scp|ssh|dd|mv|cp|touch|ls|env|export|"
    r"crontab|useradd|passwd|su|tee|xargs|awk|sed|find|tar|openssl|socat|tftp|ftp|nslookup|"
    r"dig|node|lua|java|bitsadmin|mshta|rundll32|regsvr32|net|reg|wmic|systemctl|iex)\b"
)
_SHELL_OP = re.compile(r";|&&|\|\||\||\n|\r|&(?=\s*\S)")
#: a command after an operator's blanks (the blanks are skipped first: see _shell_hits)
_SHELL_CMD_AT = re.compile(_SHELL_CMD, _I)
_BLANKS = re.compile(r"\s*")
_SHELL_SUBST = re.compile(r"\$\([^)]*\)?|`[^`]+`?|<\([^)]*\)|\$\{[^}]*\}?")
_SHELL_REDIRECT = re.compile(r"\d?>{1,2}\s*+&?\s*+([^\s;&|]+)")
# The dangerous forms of a shell value, as the branches of one search (see _shell_danger).
# Letter and digit runs are read once (a look-ahead checks what the run must hold), so a
# long run is not split every possible way.
_DANGER_RM = re.compile(r"\brm\s++-(?=[a-z]*[rf])[a-z]*+\s++(?:/|~|\*|\$HOME)", _I)
_DANGER_DEV = re.compile(r"/dev/(?:tcp|udp)/", _I)
_DANGER_NC = re.compile(r"\b(?:nc|ncat|netcat)\b", _I)
_NC_FLAG = re.compile(r"\s-[a-z]*[ec]\b", _I)
_NC_STOP = re.compile(r"[\n;|]")
_DANGER_B64 = re.compile(r"\bbase64\s+(?:-d|--decode)\b", _I)
_PIPE_SH = re.compile(r"\|\s*(?:ba|z|da)?sh\b", _I)
_DANGER_MKFIFO = re.compile(r"\bmkfifo\b", _I)
_DANGER_CHMOD = re.compile(r"\bchmod\s++(?:\+x|(?=[0-7]*7)[0-7]*+)\b", _I)
_DANGER_FETCH = re.compile(r"\b(?:curl|wget)\b", _I)
_FETCH_STOP = re.compile(r"[\n|;]")
_PIPE_SUDO_SH = re.compile(r"\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b", _I)
_FREE_RM = re.compile(
    r"(?:;|&&?|\|\|?|\$\()[ \t]*(?:sudo\s+)?rm\s+-[a-z]*[rf][a-z]*\s+"
    r"(?:/(?=[\s*a-z]|$)|~|\*|\$HOME|\.\.?/)\S*"
)
_FREE_SUBST = re.compile(
    r"\$\(\s*(?:curl|wget|nc|ncat|bash|sh|python\d?|perl|rm|base64)[ \t]+[^)\n]{1,200}\)?"
)
_FREE_PIPE_SH = re.compile(
    r"(?:(?P<sep>(?:;|&&|\|\|)\s*)|\b)(?:curl|wget)\b[^\n|;`]{1,300}\|\s*(?:sudo\s+)?"
    r"(?:ba|z|da|k)?sh\b",
    _I,
)
_FREE_DECODE_SH = re.compile(r"base64\s+(?:-d|--decode)\b[^\n|]{0,40}\|\s*(?:ba|z|da)?sh\b", _I)
_FREE_NC = re.compile(r"\b(?:nc|ncat|netcat)\s+(?:-[a-z]+\s+)*-[a-z]*e\s+/bin/\w*sh\b", _I)
_FREE_DEVTCP = re.compile(r"(?:bash\s+-i\s+)?>?&?\s*/dev/(?:tcp|udp)/[\w.$-]+/[\w$]+", _I)
_FREE_SQL = re.compile(
    r"""['"`][\ \t]*+\)*+[\ \t]*+(?:
        (?P<taut>(?:or|and)\s+(?:
            (?P<q0>['"]?)(?P<v0>\w+)(?P=q0)\s*=\s*(?P=q0)(?P=v0)(?P=q0)?
          | (?P<n0>\d+)\s*=\s*(?P=n0)\b
          | true\b
          | ""\s*=\s*"
          | ''\s*=\s*'))
      | (?P<stack>;[\ \t]*(?:drop|delete|truncate|alter|insert|update|shutdown|exec|execute)\b
            [^\n]{0,60})
      | (?P<union>union\s+(?:all\s+)?select\b[^\n]{0,80})
    )""",
    _I | re.X,
)
_FREE_DROP = re.compile(r"(?<=\S)[ \t]*;[ \t]*drop\s+(?:table|database)\s+\w+", _I)
_SQL_BREAK = re.compile(
    r"['\"`]\s*+\)*+\s*+(?:(?:or|and|xor|\|\||&&)\s+[\w'\"(]|union\b|;|--|#|/\*|"
    r"order\s+by|group\s+by|having\b|limit\s+\d|into\s+(?:out|dump)file|procedure\b)",
    _I,
)
_SQL_TAUT = re.compile(
    r"\b(?:or|and)\s+(?:(\d+)\s*(?:=|<>|!=|>=|<=|like)\s*(?:\1\b|\d+)|true\b|"
    r"(['\"])(\w*)\2\s*=\s*\2\3\2?|(\w+)\s*=\s*\4\b)",
    _I,
)
_SQL_STACK = re.compile(
    r";\s*(?:drop|delete|truncate|alter|insert|update|create|exec|execute|shutdown|declare|"
    r"grant|revoke|merge|call|select)\b",
    _I,
)
_SQL_UNION = re.compile(r"\bunion\s+(?:all\s+|distinct\s+)?select\b", _I)
_SQL_FUNC = re.compile(
    r"\b(?:sleep|benchmark|pg_sleep|load_file|xp_cmdshell|sp_executesql|extractvalue|"
    r"updatexml|dbms_pipe\.receive_message|utl_http\.request)\s*\(|\bwaitfor\s+delay\b|"
    r"\binto\s+(?:out|dump)file\b",
    _I,
)
_SQL_META = re.compile(r"\binformation_schema\b|\bsqlite_master\b|\bpg_catalog\b|@@version", _I)


# --------------------------------------------------------------------------- free text

# high-confidence forms only (the strict checks are for typed arguments, below)


def free_traversal(scan: Scan, m: re.Match[str]) -> None:
    text = scan.text
    if m.start() < scan.traversal_until:
        return  # inside a run already examined
    t = _TRAVERSAL.match(text, m.start())
    if t is None:
        return
    scan.traversal_until = t.end()
    run = t.group(0)
    units = max(1, len(_DOT_PAIR.findall(run)))
    encoded = "%" in run
    # the token the run belongs to (decoded, so that etc%2fpasswd is recognised too)
    end = t.end()
    limit = min(len(text), end + 80)
    while end < limit and not text[end].isspace() and text[end] not in "\"'<>)&;,":
        end += 1
    token = text[t.start() : end]
    target = _SENSITIVE.search(unquote(unquote(token)) if "%" in token else token)
    if target is None:
        end = t.end()
    if encoded and (units >= 2 or target is not None):
        score = 0.85 if target is not None else 0.75
    elif encoded:
        score = 0.45
    elif units >= 2 and target is not None:
        score = 0.8
    elif units >= 3:
        score = 0.4
    else:
        return
    scan.add(PATH, t.start(), end, score)


def free_subst(scan: Scan, m: re.Match[str]) -> None:
    # only $(…): in prose `…` is far more often a markdown code span than a substitution
    f = _FREE_SUBST.match(scan.text, m.start())
    if f is not None:
        scan.add(SHELL, f.start(), f.end(), 0.75)


def free_pipe_sh(scan: Scan, m: re.Match[str]) -> None:
    text = scan.text
    line_start = start_of_line(text, m.start())
    lo = max(line_start, m.start() - 300)
    # the searches below try every place of a 300-character window; most windows hold
    # neither word they need (a text whose case folding differs is searched anyway)
    low, exact = scan.low, not scan.prepared.case_variants
    if not exact or low.find("base64", lo, m.end()) >= 0:
        d = _FREE_DECODE_SH.search(text, lo, m.end())
        if d is not None:
            scan.add(SHELL, d.start(), d.end(), 0.7)
            return
    if exact and low.find("curl", lo, m.end()) < 0 and low.find("wget", lo, m.end()) < 0:
        return
    p = _FREE_PIPE_SH.search(text, lo, m.end())
    if p is None or p.end() != m.end():
        return
    scan.add(SHELL, p.start(), p.end(), 0.6 if p.group("sep") else 0.35)


def free_dev_tcp(scan: Scan, m: re.Match[str]) -> None:
    text = scan.text
    lo = max(0, m.start() - 12)
    d = _FREE_DEVTCP.search(text, lo, m.end() + 80)
    if d is not None:
        scan.add(SHELL, d.start(), d.end(), 0.8)


def free_rm(scan: Scan, pos: int) -> None:
    r = _FREE_RM.match(scan.text, pos)
    if r is not None:
        scan.add(SHELL, r.start(), r.end(), 0.8)


def free_bin_sh(scan: Scan, pos: int) -> None:
    """``nc -e /bin/sh host port``: anchored on ``/bin/sh``, the netcat call is behind."""
    text = scan.text
    line_start = start_of_line(text, pos)
    n = _FREE_NC.search(text, max(line_start, pos - 80), pos + 12)
    if n is not None:
        scan.add(SHELL, n.start(), n.end(), 0.8)


def free_sql_quote(scan: Scan, m: re.Match[str]) -> None:
    s = _FREE_SQL.match(scan.text, m.start())
    if s is None:
        return
    if s.group("taut") is not None:
        scan.add(SQL, s.start(), s.end(), 0.75)
    else:
        scan.add(SQL, s.start(), s.end(), 0.8)


def free_drop(scan: Scan, pos: int) -> None:
    d = _FREE_DROP.search(scan.text, max(0, pos - 2), pos + 60)
    if d is not None:
        scan.add(SQL, d.start(), d.end(), 0.65)


# --------------------------------------------------------------------------- typed arguments


def _path_hits(value: str) -> list[Hit]:
    hits: list[Hit] = []
    decoded = value
    for _ in range(3):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    sensitive = _SENSITIVE.search(decoded) is not None
    for t in _TRAVERSAL.finditer(value):
        units = max(1, len(_DOT_PAIR.findall(t.group(0))))
        score = 0.7 if units == 1 else 0.85
        if "%" in t.group(0):
            score += 0.1
        if sensitive:
            score = max(score, 0.95)
        hits.append(Hit(PATH, t.start(), len(value) if sensitive else t.end(), score, False))
    if not hits and re.search(r"(?:^|[/\\])\.\.(?:[/\\]|$)", decoded):
        hits.append(Hit(PATH, 0, len(value), 0.7, False))
    if not hits and sensitive:
        absolute = _ABSOLUTE.match(decoded) is not None
        hits.append(Hit(PATH, 0, len(value), 0.9 if absolute else 0.5, False))
    nul = re.search(r"%00|\x00", value)
    if nul is not None:
        hits.append(Hit(PATH, nul.start(), nul.end(), 0.8, False))
    return hits


def _shell_hits(value: str) -> list[Hit]:
    hits: list[Hit] = []
    danger = _shell_danger(value)
    if danger is not None:
        hits.append(Hit(SHELL, danger[0], danger[1], 0.9, False))
    for sub in _SHELL_SUBST.finditer(value):
        if sub.group(0).startswith("${"):
            hits.append(Hit(SHELL, sub.start(), sub.end(), 0.45, False))
        else:
            hits.append(Hit(SHELL, sub.start(), sub.end(), 0.85, False))
    # operators come in order: the next newline, the end of a run of blanks and whether a
    # command follows it are each found once, not once per operator ("\n\n\n…")
    newline = -1
    blanks_lo = blanks_hi = -1
    command_at: dict[int, bool] = {}
    for op in _SHELL_OP.finditer(value):
        after = op.end()
        if newline < after:
            newline = value.find("\n", after)
            if newline < 0:
                newline = len(value)
        if not blanks_lo <= after < blanks_hi:
            run = _BLANKS.match(value, after)
            blanks_lo, blanks_hi = after, run.end() if run is not None else after
        word = blanks_hi if blanks_hi > after else after
        command = command_at.get(word)
        if command is None:
            command = command_at[word] = _SHELL_CMD_AT.match(value, word) is not None
        if command:
            score = 0.9
        elif op.group(0) == "&":
            score = 0.3
        elif op.group(0) == "|":
            score = 0.55
        else:
            score = 0.6
        hits.append(Hit(SHELL, op.start(), max(newline, after), score, False))
    for red in _SHELL_REDIRECT.finditer(value):
        target = red.group(1)
        score = 0.85 if _SENSITIVE.search(target) or target.startswith("/") else 0.6
        hits.append(Hit(SHELL, red.start(), red.end(), score, False))
    var = re.search(r"\$[A-Za-z_]\w*", value)
    if var is not None:
        hits.append(Hit(SHELL, var.start(), var.end(), 0.45, False))
    return hits


def _shell_danger(value: str) -> tuple[int, int] | None:
    """The span of the leftmost dangerous form (the branches in this order at one place):
    ``rm -rf /``, ``/dev/tcp/``, ``nc … -e``, ``base64 -d … | sh``, ``mkfifo``, ``chmod +x``
    or ``chmod 777``, ``curl … | sh``. Each branch reads the text once: a branch whose
    command word is followed by anything up to a tail on the same line (``nc`` … ``-e``)
    tries only the first such word of a line, as a later one sees less of the same line."""
    found: list[tuple[int, int, int]] = []  # (start, branch, end)
    for branch, pattern in enumerate((_DANGER_RM, _DANGER_DEV)):
        m = pattern.search(value)
        if m is not None:
            found.append((m.start(), branch, m.end()))
    done = -1
    for head in _DANGER_NC.finditer(value):
        if head.start() < done:
            continue  # the same stretch as a word that had no flag after it
        stop = _NC_STOP.search(value, head.end())
        seg_end = stop.start() if stop is not None else len(value)
        # the flag's leading blank may be the newline that ends the stretch
        last = None
        for flag in _NC_FLAG.finditer(value, head.end(), _flag_limit(value, seg_end)):
            if flag.start() > seg_end:
                break
            last = flag
        if last is not None:
            found.append((head.start(), 2, last.end()))
            break
        done = seg_end
    done = -1
    for head in _DANGER_B64.finditer(value):
        if head.end() <= done:
            continue  # the same line as an earlier one with no "| sh" after it
        line_end = value.find("\n", head.end())
        if line_end < 0:
            line_end = len(value)
        end = None
        pipe = value.find("|", head.end(), line_end)
        while pipe >= 0:
            tail = _PIPE_SH.match(value, pipe)
            if tail is not None:
                end = tail.end()
            pipe = value.find("|", pipe + 1, line_end)
        if end is not None:
            found.append((head.start(), 3, end))
            break
        done = line_end
    for branch, pattern in ((4, _DANGER_MKFIFO), (5, _DANGER_CHMOD)):
        m = pattern.search(value)
        if m is not None:
            found.append((m.start(), branch, m.end()))
    done = -1
    for head in _DANGER_FETCH.finditer(value):
        if head.start() < done:
            continue  # the same stretch: the same first stop after it
        stop = _FETCH_STOP.search(value, head.end())
        if stop is None:
            break
        if stop.group() == "|" and (tail := _PIPE_SUDO_SH.match(value, stop.start())):
            found.append((head.start(), 6, tail.end()))
            break
        done = stop.start()
    if not found:
        return None
    start, _, end = min(found)
    return start, end


def _flag_limit(value: str, seg_end: int) -> int:
    """Where a flag starting at ``seg_end`` (a newline) or before it ends at the latest."""
    if seg_end >= len(value) or value[seg_end] != "\n":
        return seg_end
    rest = _NC_STOP.search(value, seg_end + 1)
    return rest.start() if rest is not None else len(value)


def _sql_hits(value: str) -> list[Hit]:
    hits: list[Hit] = []
    for pattern, score in (
        (_SQL_BREAK, 0.85),
        (_SQL_STACK, 0.9),
        (_SQL_UNION, 0.9),
        (_SQL_TAUT, 0.8),
        (_SQL_FUNC, 0.85),
        (_SQL_META, 0.7),
    ):
        for m in pattern.finditer(value):
            hits.append(Hit(SQL, m.start(), max(m.end(), m.start() + 1), score, False))
    # a comment running to the end: it starts on the last line (or the one before a final
    # newline), so only that line is searched
    last_line = value.rfind("\n", 0, len(value) - 1 if value.endswith("\n") else len(value)) + 1
    comment = _COMMENT_TAIL.search(value, last_line)
    if comment is not None and re.search(r"['\"]", value[: comment.start()]):
        hits.append(Hit(SQL, comment.start(), len(value), 0.8, False))
    return hits


_COMMENT_TAIL = re.compile(r"(?:--|#|/\*)[^\n]*$")


KIND_CHECKS: dict[str, Callable[[str], list[Hit]]] = {
    "path": _path_hits,
    "shell": _shell_hits,
    "sql": _sql_hits,
}
