"""PII detection: :class:`PIIDetector` (name ``"pii"``) and the types it reports.

The detector and its documentation are in :mod:`agentguard.detect.pii.detector`; the
other modules hold its checks: ``common`` (shared helpers and the numeric-island probe),
``ids`` (IBAN, US SSN, national IDs), ``names`` (PERSON), ``phone`` and ``text`` (addresses,
dates of birth).
"""

from agentguard.detect.pii.detector import PII_TYPES, PIIDetector
from agentguard.detect.pii.detector import luhn_ok as luhn_ok

__all__ = ["PII_TYPES", "PIIDetector"]
