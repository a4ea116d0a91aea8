"""Product capabilities and their usage per customer. Pure: no AWS.

A capability is what a product delivers ("Automated reporting" of "Analytics"), shown in use by product
events (feature names of the ingested usage). A customer has **adopted** it when it was used on at
least `threshold_days` of the last `window_days` days (the scoring day included); a customer that had
adopted it and falls below the threshold has **lapsed**; one that never reached it is **not yet**. The
state is recomputed at every scoring from the usage the scorer already reads, and keeps the day it last
changed. See docs/success-plans.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from keepwell.domain.conditions import FieldType
from keepwell.domain.health.signals import UsageDay

CapabilityState = Literal["adopted", "not_yet", "lapsed"]
STATES: tuple[str, ...] = ("adopted", "not_yet", "lapsed")
MAX_WINDOW_DAYS = 30  # the scorer always reads at least 30 days of usage (scoring.MAU_DAYS)
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# The fields capability usage adds to the condition record of segments and playbook conditions.
CONDITION_FIELDS: dict[str, FieldType] = {
    "capability.*": "string",
    "capabilities_adopted": "number",
    "capabilities_lapsed": "number",
}


@dataclass(frozen=True)
class Capability:
    capability_id: str
    key: str  # the name conditions use: capability.<key>
    name: str
    product: str
    features: tuple[str, ...]
    threshold_days: int = 3
    window_days: int = 30


@dataclass(frozen=True)
class CapabilityUsage:
    state: CapabilityState
    since: date | None  # the day the state last changed (None: never adopted, never scored otherwise)
    used_days: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "since": self.since.isoformat() if self.since else None, "days": self.used_days}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CapabilityUsage:
        state = data.get("state")
        since = data.get("since")
        return cls(
            state=state if state in ("adopted", "lapsed") else "not_yet",
            since=date.fromisoformat(since) if isinstance(since, str) else None,
            used_days=int(data.get("days") or 0),
        )


def used_days(capability: Capability, usage: Sequence[UsageDay], day: date) -> int:
    """Days of the window ending on `day` on which any of the capability's features was used."""
    start = day - timedelta(days=capability.window_days - 1)
    features = set(capability.features)
    return sum(1 for d in usage if start <= d.day <= day and features & d.features)


def usage_of(
    capability: Capability, usage: Sequence[UsageDay], day: date, previous: CapabilityUsage | None
) -> CapabilityUsage:
    """The capability's state on `day`, continuing from the state stored at the previous scoring."""
    count = used_days(capability, usage, day)
    before: CapabilityState = previous.state if previous is not None else "not_yet"
    if count >= capability.threshold_days:
        state: CapabilityState = "adopted"
    elif before in ("adopted", "lapsed"):
        state = "lapsed"
    else:
        state = "not_yet"
    if previous is not None and previous.state == state:
        return CapabilityUsage(state, previous.since, count)
    return CapabilityUsage(state, day if state != "not_yet" or previous is not None else None, count)


def usage_all(
    capabilities: Sequence[Capability],
    usage: Sequence[UsageDay],
    day: date,
    previous: Mapping[str, CapabilityUsage],
) -> dict[str, CapabilityUsage]:
    """Every capability's state by key (capabilities removed since are dropped)."""
    return {c.key: usage_of(c, usage, day, previous.get(c.key)) for c in capabilities}


def newly_lapsed(before: Mapping[str, CapabilityUsage], after: Mapping[str, CapabilityUsage]) -> list[str]:
    return [k for k, u in after.items() if u.state == "lapsed" and (k not in before or before[k].state != "lapsed")]


def condition_record(usage: Mapping[str, CapabilityUsage]) -> dict[str, Any]:
    """What capability usage adds to a customer's condition record."""
    record: dict[str, Any] = {f"capability.{key}": u.state for key, u in usage.items()}
    record["capabilities_adopted"] = sum(1 for u in usage.values() if u.state == "adopted")
    record["capabilities_lapsed"] = sum(1 for u in usage.values() if u.state == "lapsed")
    return record


def expression_variables(usage: Mapping[str, CapabilityUsage]) -> dict[str, float]:
    """What capability usage gives the health model's custom-dimension expressions (numbers only):
    `capabilities_adopted`, `capabilities_lapsed`, `capabilities_tracked`, and `capability_<key>`
    (1 adopted, 0 not yet or lapsed)."""
    values: dict[str, float] = {f"capability_{key}": float(u.state == "adopted") for key, u in usage.items()}
    values["capabilities_adopted"] = float(sum(1 for u in usage.values() if u.state == "adopted"))
    values["capabilities_lapsed"] = float(sum(1 for u in usage.values() if u.state == "lapsed"))
    values["capabilities_tracked"] = float(len(usage))
    return values


def decode(document: Mapping[str, Any] | None) -> dict[str, CapabilityUsage]:
    if not document:
        return {}
    return {str(k): CapabilityUsage.from_json(v) for k, v in document.items() if isinstance(v, Mapping)}


def encode(usage: Mapping[str, CapabilityUsage]) -> dict[str, Any]:
    return {k: u.to_json() for k, u in sorted(usage.items())}
