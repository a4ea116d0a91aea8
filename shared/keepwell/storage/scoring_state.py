"""The scorer's state on a customer profile, as stored: one place reads and writes its format.

The state (`keepwell.domain.customer_scoring.ScoringState`: the last 31 scored days' scores, bands and
alerts, and the latest day's contributions) is ~1.9 KB of JSON, two thirds of a profile. Every daily
scoring rewrites the profile inside a transaction, and DynamoDB bills an UpdateItem by the size of
the whole item, twice in a transaction, so the state is stored zlib-compressed (~0.5 KB) in the binary
`health_state_z`: the demo's profile goes from ~3.0 KB (3 write units, 6 in the transaction) to ~1.6 KB
(2, and 4). docs/cost.md has the sums.

Profiles scored before 6 December 2026 hold the same JSON as text in `health_state`; reads take
`health_state_z` when present, else `health_state`, and the next scoring of the customer writes the
compressed form and removes the text (no backfill needed: daily scoring rewrites every profile).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from pynamodb.attributes import BinaryAttribute, UnicodeAttribute

TEXT_ATTRIBUTE = "health_state"  # JSON text: profiles scored before the compressed form
PACKED_ATTRIBUTE = "health_state_z"  # zlib-compressed JSON
ATTRIBUTES = (TEXT_ATTRIBUTE, PACKED_ATTRIBUTE)
COMPRESSION_LEVEL = 9  # ~0.5 KB either way; the highest level costs ~30 µs more per write


def text_attribute() -> UnicodeAttribute:
    """The text form's attribute, for an item class that reads the state."""
    return UnicodeAttribute(null=True, attr_name=TEXT_ATTRIBUTE)


def packed_attribute() -> BinaryAttribute:
    """The compressed form's attribute, for an item class that reads or writes the state."""
    return BinaryAttribute(null=True, legacy_encoding=False, attr_name=PACKED_ATTRIBUTE)


def encode(state: dict[str, Any]) -> bytes:
    """The state as stored: compact JSON, keys sorted (the same state gives the same bytes), compressed."""
    return zlib.compress(json.dumps(state, separators=(",", ":"), sort_keys=True).encode(), COMPRESSION_LEVEL)


def decode(text: str | None, packed: bytes | None) -> dict[str, Any]:
    """The state from either stored form (the compressed one wins); {} when there is none or it is not
    readable (the scorer then starts the customer afresh, as for a customer never scored)."""
    try:
        if packed:
            data = json.loads(zlib.decompress(packed))
        elif text:
            data = json.loads(text)
        else:
            return {}
    except (ValueError, zlib.error):
        return {}
    return data if isinstance(data, dict) else {}


def of_item(item: Any) -> dict[str, Any]:
    """The state of an item class declared with both attributes (named `health_state`, `health_state_z`)."""
    return decode(item.health_state, item.health_state_z)
