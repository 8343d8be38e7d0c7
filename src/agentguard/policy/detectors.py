"""The policy's ``detectors:`` section as pydantic models: detector rules (what is scanned,
by which detectors, and what their findings do), the built-in detectors' settings (pii,
tone, injection), quality checks and the A→B leak guard.

Like every policy model, each forbids unknown keys.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentguard.policy.units import Duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Where a detector rule looks: the agent's arguments, the tool's results flowing back to
#: the agent, or the tool's outbound fields (the agent's output to the world).
ScanTarget = Literal["inputs", "results", "outbound"]
ContentAction = Literal["block", "redact", "flag_for_review", "stop_agent", "wrap"]
RedactStyle = Literal["mask", "hash", "type_tag"]

_ACTIONS_BY_TARGET: dict[str, frozenset[str]] = {
    "inputs": frozenset({"block", "redact", "flag_for_review", "stop_agent"}),
    "outbound": frozenset({"block", "redact", "flag_for_review", "stop_agent"}),
    "results": frozenset({"block", "redact", "wrap", "stop_agent"}),
}


class DetectorRule(_Strict):
    """Run some detectors on one kind of content of some tools, and act on what they find."""

    scan: ScanTarget = Field(
        description=(
            "inputs: the agent's arguments (direct injection, malicious input); results: "
            "what the tool returns to the agent (indirect injection); outbound: the tool's "
            "outbound fields (the agent's output: PII, secrets, tone)."
        )
    )
    detectors: list[str] = Field(
        min_length=1,
        description="Detector names: pii, secrets, injection, tone, or a custom detector.",
    )
    types: list[str] | None = Field(
        default=None,
        description="Act only on these finding types (CREDIT_CARD, SECRET …); default: all.",
    )
    tools: list[str] = Field(
        default_factory=lambda: ["*"], description="Tool names or glob patterns (default: all)."
    )
    min_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Ignore findings scored below this."
    )
    action: ContentAction = Field(
        description=(
            "block: deny (a result is withheld); redact: replace the findings and go on; "
            "flag_for_review: hold the action for a human (it does not run); stop_agent: "
            "deny and set the agent's kill switch; wrap (results only): mark the content as "
            "untrusted data for the agent."
        )
    )
    style: RedactStyle = Field(default="type_tag", description="How `redact` replaces a finding.")

    @model_validator(mode="after")
    def _action_fits_target(self) -> DetectorRule:
        allowed = _ACTIONS_BY_TARGET[self.scan]
        if self.action not in allowed:
            raise ValueError(
                f"action {self.action!r} cannot apply to {self.scan}; "
                f"use one of {', '.join(sorted(allowed))}"
            )
        return self


class ToneSettings(_Strict):
    """Settings of the built-in ``tone`` detector."""

    banned_phrases: list[str] = Field(
        default_factory=list, description="Phrases outbound text must never contain."
    )
    required_disclaimers: list[str] = Field(
        default_factory=list, description="Text every outbound field checked for tone must contain."
    )
    extra_words: list[str] = Field(
        default_factory=list, description="Words to flag as PROFANITY besides the built-in list."
    )
    allowed_words: list[str] = Field(
        default_factory=list, description="Words of the built-in list to accept."
    )


class PIISettings(_Strict):
    """Settings of the built-in ``pii`` detector."""

    region: str = Field(
        default="US",
        description="The region (ISO 3166 code) whose national phone format is read first: "
        "a number written without +country code is tried as one of this region's.",
    )
    phone_regions: list[str] = Field(
        default_factory=list,
        description="More regions whose national phone formats count (e.g. [GB, DE, FR]). "
        "Numbers written with +country code are found whatever this says; each region "
        "listed costs another pass over phone-shaped numbers the others do not read.",
    )

    learned_names: bool = Field(
        default=True,
        description="Whether the shipped PERSON tagger reads every capitalised run (names in "
        "free text); false finds names only next to cues (Mr., Dear, Name:), about twice as fast.",
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return _phone_region(value)

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, values: list[str]) -> list[str]:
        return [_phone_region(v) for v in values]


def _phone_region(value: str) -> str:
    import phonenumbers

    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"{value!r} is not a region phonenumbers knows (an ISO 3166 code: US, GB …)"
        )
    return code


class InjectionSettings(_Strict):
    """Settings of the built-in ``injection`` detector."""

    model: Literal["off", "results", "all"] = Field(
        default="results",
        description="Where the shipped learned model also scores text (PROMPT_INJECTION/"
        "learned findings): results (what tools return: indirect injection; default), all "
        "(also what agents send), off (the rules alone).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (and subdomains) markdown images and links may point at without "
        "an exfiltration finding.",
    )


class QualityCheck(_Strict):
    """A user's own check of outbound text (an LLM judge, a style checker), with a timeout."""

    name: str
    call: str | None = Field(
        default=None,
        description=(
            "'module:function' taking (fields, action) and returning True (pass), or False "
            "or a reason (fail). Omit it when the check is registered with "
            "@guard.quality_check(name)."
        ),
    )
    tools: list[str] = Field(default_factory=lambda: ["*"], description="Tools it checks.")
    timeout: Duration = Field(
        default=timedelta(seconds=5), description="A check that takes longer has failed."
    )
    action: Literal["flag_for_review", "block"] = Field(
        default="flag_for_review",
        description="What failing (or erroring, or timing out) does.",
    )


class LeakGuard(_Strict):
    """The A→B leak guard: one owner's data never goes to another owner's recipient.

    Active when some tool declares ``owner:``.
    """

    action: Literal["block", "redact"] = Field(
        default="block",
        description="block: deny the outbound action; redact: cut the other owner's data out.",
    )
    min_words: int = Field(
        default=12,
        ge=6,
        description="A passage of another owner's text this many words long is a leak.",
    )
    remember: Duration = Field(
        default=timedelta(days=1),
        description="How long data an agent has seen stays fingerprinted.",
    )


class DetectorsSection(_Strict):
    """Content safety: which detectors run on inputs, results and outbound fields."""

    custom: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Your own detectors: name → 'module:Class' (or a module:function returning one). "
            "Installed packages may also offer detectors in the entry-point group "
            "'agentguard.detectors'."
        ),
    )
    pii: PIISettings = Field(default_factory=PIISettings)
    tone: ToneSettings = Field(default_factory=ToneSettings)
    injection: InjectionSettings = Field(default_factory=InjectionSettings)
    rules: list[DetectorRule] = Field(default_factory=list)
    quality_checks: list[QualityCheck] = Field(default_factory=list)
    leaks: LeakGuard = Field(default_factory=LeakGuard)
