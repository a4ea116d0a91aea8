"""A customer's recent product usage as one compact value: exactly what the usage dimension reads.

Ingestion keeps it beside the day items (storage/metrics.py, item `USAGE`), in the same transaction
as the day roll-ups, so scoring a 90-day history reads one item instead of ~120 day items:

- per day, the figures scoring reads: logins, active users, distinct features, events;
- per user and per feature, the days of the last `KEPT_DAYS` on which it was active, as a bit mask
  (bit n = n days before `newest`). Distinct users over 30 days and distinct features over the
  model's window are then exact unions, as from the day items, at the size of one entry per user
  instead of one per user-day.

A change *sets* a day to the day item's new totals (never adds), so applying it twice changes
nothing. Pure: no AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from keepwell.domain.ingestion import DayActivity

if TYPE_CHECKING:
    # Imported by `usage_days`, which scoring calls: ingestion imports this module and never reads the
    # engine's signal classes (~8 ms of its cold start, decision 0027).
    from keepwell.domain.health.signals import UsageDay

# A 90-day history under a 90-day window reads 179 days (the first scored day needs a full window).
KEPT_DAYS = 180
_KEPT_MASK = (1 << KEPT_DAYS) - 1
DOCUMENT_VERSION = 1
# DynamoDB items stop at 400 KB; past this the member masks are dropped (largest first) and scoring
# falls back to per-day counts (see `encode`).
MAX_DOCUMENT_BYTES = 300_000
_compact_json = json.JSONEncoder(separators=(",", ":")).encode

# A sharp usage drop (docs/health-model.md): a complete day's active users or logins below half their
# trailing 14-day average, for a customer with at least 7 days of usage in those 14 and a meaningful
# baseline (an average of at least 2 active users / 2 logins a day, so tiny accounts do not flap).
DROP_RATIO = 0.5
DROP_BASELINE_DAYS = 14
DROP_MIN_BASELINE_DAYS = 7
DROP_MIN_AVERAGE = 2.0
# Event-driven rescoring asked by ingestion is debounced on the usage history itself (the commit writes
# it anyway): at most one message at once and one trailing message per customer and window.
RESCORING_WINDOW_SECONDS = 30

RescoringClaim = tuple[Literal["now", "trailing"], int]  # (how, delay in seconds)


class DayFigures(NamedTuple):
    logins: int
    active_users: int
    distinct_features: int
    events: int


_BYTE_BITS: list[list[tuple[int, ...]]] = []  # [i][byte]: the positions of byte's set bits when it is byte i


def _byte_bits(index: int) -> list[tuple[int, ...]]:
    while len(_BYTE_BITS) <= index:
        base = len(_BYTE_BITS) * 8
        _BYTE_BITS.append([tuple(base + bit for bit in range(8) if byte >> bit & 1) for byte in range(256)])
    return _BYTE_BITS[index]


def _bits(mask: int) -> list[int]:
    """The positions of the set bits (in no promised order), a byte at a time from a table."""
    positions: list[int] = []
    for index, byte in enumerate(mask.to_bytes((mask.bit_length() + 7) // 8, "little")):
        if byte:
            positions += (_BYTE_BITS[index] if index < len(_BYTE_BITS) else _byte_bits(index))[byte]
    return positions


@dataclass
class UsageHistory:
    """`users` / `features` are None once they outgrew the item (counts only from then on)."""

    newest: date | None = None
    days: dict[date, DayFigures] = field(default_factory=dict)
    users: dict[str, int] | None = field(default_factory=dict)
    features: dict[str, int] | None = field(default_factory=dict)
    version: int = 0  # storage's optimistic-concurrency version (0: never written)
    rescoring_until: int = 0  # epoch second the current rescoring window ends
    rescoring_trailing: bool = False  # a trailing rescoring is queued for that window's end

    # --- changing -------------------------------------------------------------------------------
    def with_days(self, changes: Iterable[tuple[date, DayActivity]]) -> UsageHistory:
        """A copy with each day set to its (new, complete) activity. Days older than the kept span are
        ignored: nothing scores them."""
        copy = UsageHistory(
            newest=self.newest,
            days=dict(self.days),
            users=dict(self.users) if self.users is not None else None,
            features=dict(self.features) if self.features is not None else None,
            version=self.version,
            rescoring_until=self.rescoring_until,
            rescoring_trailing=self.rescoring_trailing,
        )
        for day, activity in sorted(changes, key=lambda change: change[0]):
            copy._set_day(day, activity)
        return copy

    def _advance(self, day: date) -> None:
        if self.newest is None:
            self.newest = day
            return
        shift = (day - self.newest).days
        if shift <= 0:
            return
        self.newest = day
        for members in (self.users, self.features):
            if members is None:
                continue
            for name, mask in list(members.items()):
                moved = (mask << shift) & _KEPT_MASK
                if moved:
                    members[name] = moved
                else:
                    del members[name]
        oldest = day - timedelta(days=KEPT_DAYS - 1)
        self.days = {d: f for d, f in self.days.items() if d >= oldest}

    def _set_day(self, day: date, activity: DayActivity) -> None:
        self._advance(day)
        assert self.newest is not None
        offset = (self.newest - day).days
        if offset >= KEPT_DAYS:
            return
        bit = 1 << offset
        replacing = day in self.days
        for members, now_active in ((self.users, activity.users), (self.features, activity.features)):
            if members is None:
                continue
            if replacing:  # an import may replace a day: members no longer in it lose its bit
                for name in [n for n, mask in members.items() if mask & bit and n not in now_active]:
                    remaining = members[name] & ~bit
                    if remaining:
                        members[name] = remaining
                    else:
                        del members[name]
            for name in now_active:
                members[name] = members.get(name, 0) | bit
        self.days[day] = DayFigures(
            logins=activity.logins,
            active_users=len(activity.users),
            distinct_features=len(activity.features),
            events=activity.events,
        )

    def claim_rescoring(self, now: float, window: int = RESCORING_WINDOW_SECONDS) -> RescoringClaim | None:
        """The debounce of `storage.recalculations.claim_rescoring`, kept here: the first request of a
        window is queued at once and opens it; the first one inside it queues one trailing message
        delayed to its end; later ones are covered (None). Changes this history (commit it)."""
        at = int(now)
        if at >= self.rescoring_until:
            self.rescoring_until, self.rescoring_trailing = at + window, False
            return ("now", 0)
        if not self.rescoring_trailing:
            self.rescoring_trailing = True
            return ("trailing", max(1, self.rescoring_until - at + 1))
        return None

    # --- reading --------------------------------------------------------------------------------
    def figures(self, day: date) -> DayFigures | None:
        return self.days.get(day)

    def usage_days(self, first: date, last: date) -> list[UsageDay]:
        """The days from `first` to `last` that have usage, oldest first, as the engine's UsageDay:
        per-day user and feature sets rebuilt from the masks (empty when only counts are kept)."""
        from keepwell.domain.health.signals import UsageDay

        wanted = sorted(d for d in self.days if first <= d <= last)
        if not wanted or self.newest is None:
            return []
        newest = self.newest
        window = 0
        for day in wanted:
            window |= 1 << (newest - day).days
        members_by_offset: list[dict[int, list[str]]] = []
        for members in (self.users, self.features):
            by_offset: dict[int, list[str]] = {}
            for name, mask in (members or {}).items():
                for offset in _bits(mask & window):
                    by_offset.setdefault(offset, []).append(name)
            members_by_offset.append(by_offset)
        users_at, features_at = members_by_offset
        out: list[UsageDay] = []
        for day in wanted:
            offset = (newest - day).days
            figures = self.days[day]
            out.append(
                UsageDay(
                    day=day,
                    logins=figures.logins,
                    active_users=figures.active_users,
                    users=frozenset(users_at.get(offset, ())),
                    features=frozenset(features_at.get(offset, ())),
                    distinct_features=figures.distinct_features,
                )
            )
        return out

    # --- the stored document --------------------------------------------------------------------
    def to_document(self) -> dict[str, Any]:
        return {
            "v": DOCUMENT_VERSION,
            "newest": self.newest.isoformat() if self.newest else None,
            "days": {d.isoformat(): list(f) for d, f in sorted(self.days.items())},
            "users": {n: format(m, "x") for n, m in self.users.items()} if self.users is not None else None,
            "features": {n: format(m, "x") for n, m in self.features.items()} if self.features is not None else None,
            "rescoring": [self.rescoring_until, self.rescoring_trailing],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None, version: int = 0) -> UsageHistory:
        if not document or document.get("v") != DOCUMENT_VERSION:
            return cls(version=version)

        def masks(raw: Mapping[str, str] | None) -> dict[str, int] | None:
            return None if raw is None else {name: int(mask, 16) for name, mask in raw.items()}

        until, trailing = document.get("rescoring", [0, False])
        return cls(
            rescoring_until=int(until),
            rescoring_trailing=bool(trailing),
            newest=date.fromisoformat(document["newest"]) if document.get("newest") else None,
            days={date.fromisoformat(d): DayFigures(*f) for d, f in document.get("days", {}).items()},
            users=masks(document.get("users", {})),
            features=masks(document.get("features", {})),
            version=version,
        )

    def encode(self) -> str:
        """The document as compact JSON under MAX_DOCUMENT_BYTES: when the members outgrow it, the
        feature masks go first, then the user masks (for good: a mask rebuilt later would miss the
        earlier days). Scoring then reads per-day counts: distinct features become the day's
        maximum, and DAU/MAU is not measured."""
        text = _compact_json(self.to_document())
        while len(text.encode()) > MAX_DOCUMENT_BYTES:
            if self.features is not None:
                self.features = None
            elif self.users is not None:
                self.users = None
            else:
                break
            text = _compact_json(self.to_document())
        return text

    @classmethod
    def decode(cls, text: str | None, version: int = 0) -> UsageHistory:
        return cls.from_document(json.loads(text) if text else None, version)


def sharp_usage_drop(history: UsageHistory, day: date) -> bool:
    """Whether `day` (a complete day) shows a sharp drop in active users or logins against the
    DROP_BASELINE_DAYS before it; a day without usage counts as zero."""
    baseline = [history.figures(day - timedelta(days=n)) for n in range(1, DROP_BASELINE_DAYS + 1)]
    known = [f for f in baseline if f is not None]
    if len(known) < DROP_MIN_BASELINE_DAYS:
        return False
    today = history.figures(day) or DayFigures(0, 0, 0, 0)
    for now, before in (
        (today.active_users, [f.active_users for f in known]),
        (today.logins, [f.logins for f in known]),
    ):
        average = sum(before) / DROP_BASELINE_DAYS
        if average >= DROP_MIN_AVERAGE and now < DROP_RATIO * average:
            return True
    return False
