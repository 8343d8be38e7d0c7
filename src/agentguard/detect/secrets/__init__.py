"""Secrets detection: :class:`SecretsDetector` (name ``"secrets"``), ``type="SECRET"``.

The detector and its documentation are in :mod:`agentguard.detect.secrets.detector`; the
other modules hold its rules: ``values`` (value heuristics), ``rules`` and ``checks`` (vendor
formats and their structure checks), ``formats`` (private keys, passwords in URLs),
``assignments`` and ``context`` (``key = value`` assignments and context words).
"""

from agentguard.detect.secrets.detector import SECRET as SECRET
from agentguard.detect.secrets.detector import SUBTYPES, SecretsDetector
from agentguard.detect.secrets.values import EXAMPLE_SCORE as EXAMPLE_SCORE
from agentguard.detect.secrets.values import looks_like_example, shannon_entropy

__all__ = ["SUBTYPES", "SecretsDetector", "looks_like_example", "shannon_entropy"]
