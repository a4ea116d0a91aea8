"""The flags, churn risk and CLTV stored on a customer profile, as stored: one place reads and writes the format.

They are written after every daily score (services/customer_flags) with an UpdateItem of the profile,
and the profile is in five indexes that project every attribute (gsi1..gsi5: the customer lists). An
UpdateItem is billed by the size of the whole item in whole KB, and so is each index entry it rewrites:
the scorer's write and the flags' write rewrite the profile ~14 times a day between them (docs/cost.md).
As JSON text the flags were ~1.0 KB of a ~2.7 KB profile (up to 2.2 KB); compressed with zlib and a
preset dictionary (a typical flags document: its field names, the rules' titles and evidence phrases,
the churn-risk and CLTV explanations) they are ~0.2 KB (`bench.recalc --daily` prints both).

Profiles written before hold the JSON text in `flags_json`: reads take `flags_z` when present, else
`flags_json`, and the next stored flags (the next daily score) write `flags_z` and remove the text, so
no backfill is needed.

**Never edit `DICTIONARY_1`**: stored values name it by its Adler-32 checksum (zlib's DICTID) and need
the same bytes to be read. A better dictionary is added as `DICTIONARY_2` after it in `CODEC`
(storage/preset_zlib.py).
"""

from __future__ import annotations

import zlib

from pydantic import ValidationError
from pynamodb.attributes import BinaryAttribute, UnicodeAttribute

from keepwell.domain.customers import CustomerFlags
from keepwell.storage.preset_zlib import PresetDictionaries

TEXT_ATTRIBUTE = "flags_json"  # JSON text: profiles whose flags were stored before the compressed form
PACKED_ATTRIBUTE = "flags_z"  # zlib-compressed JSON, with a preset dictionary
COMPRESSION_LEVEL = 9

DICTIONARY_1 = (
    b'{"scored_on":"2026-01-01","red":[{"code":"champion_changed","title":"Champion changed","evidence":[{"text":'
    b'"the champion left the company","ref":null,"at":"2026-01-01"}]},{"code":"usage_drop","title":"Usage down 30% '
    b'in 30 days","evidence":[{"text":"logins down from 120 to 80 a week","ref":null,"at":null}]},{"code":'
    b'"no_two_way_activity","title":"No two-way activity for more than 45 days","evidence":[{"text":"last two-way '
    b'activity: email from the customer on 2026-01-01, 54 days ago","ref":"tl_0000000000000000","at":"2026-01-01"}]},'
    b'{"code":"stale_severe_tickets","title":"1 high-priority ticket open more than 7 days","evidence":[{"text":'
    b'"high ticket pending for 89 days (since 2026-01-01)","ref":"tl_0000000000000000","at":"2026-01-01"},{"text":'
    b'"urgent ticket open for 37 days (since 2026-01-01)","ref":"tl_0000000000000000","at":"2026-01-01"}]},{"code":'
    b'"negative_tone","title":"Negative tone in the last 5 emails","evidence":[{"text":"email on 2026-01-01 has tone'
    b' -0.84","ref":"tl_0000000000000000","at":"2026-01-01"},{"text":"email on 2026-01-01 has tone -0.85","ref":'
    b'"tl_0000000000000000","at":"2026-01-01"}]}],"green":[{"code":"growing_usage","title":"Growing usage",'
    b'"evidence":[]},{"code":"new_user_domains","title":"New users from new domains","evidence":[]},{"code":'
    b'"high_engagement","title":"High engagement","evidence":[{"text":"the champion answered in 19.4 h on average '
    b'(6 replies)","ref":null,"at":null},{"text":"2 meetings in the last 30 days","ref":"tl_0000000000000000","at":'
    b'"2026-01-01"}]},{"code":"additional_needs","title":"Mentions additional needs","evidence":[{"text":"email on '
    b'2026-01-01: \\"more seats\\" (expand_to)","ref":"tl_0000000000000000","at":"2026-01-01"},{"text":"email on '
    b'2026-01-01: \\"more seats\\" (expand_to)","ref":"tl_0000000000000000","at":"2026-01-01"}]}],"churn_risk":'
    b'{"score":100.0,"level":"high","parts":[{"factor":"churned","points":100.0,"detail":"the customer has churned"'
    b'}]},"cltv":{"value":0.0,"arr":739700.0,"gross_margin":0.8,"annual_churn_probability":1.0,'
    b'"expected_lifetime_years":0.0,"explanation":"a churned customer has no future value"}}\n'
    b'{"scored_on":"2026-01-01","red":[],"green":[],"churn_risk":{"score":17.9,"level":"low","parts":[{"factor":'
    b'"health","points":17.9,"detail":"health 64.2: (100 - 64.2) x 0.5"},{"factor":"red_flags","points":10.0,'
    b'"detail":"1 red flags: negative_tone"},{"factor":"green_flags","points":-10.0,"detail":"2 green flags: '
    b'high_engagement, additional_needs"}]},"cltv":{"value":2114860.34,"arr":473200.0,"gross_margin":0.8,'
    b'"annual_churn_probability":0.179,"expected_lifetime_years":5.59,"explanation":"ARR 473,200.00 x gross margin'
    b' 0.8 x expected lifetime 5.59 years (1 / annual churn probability 0.18, from churn risk 17.9) = 2,114,860.34"'
    b"}}\n"
)
CODEC = PresetDictionaries(DICTIONARY_1, what="flags")


def text_attribute() -> UnicodeAttribute:
    """The text form's attribute, for an item class that reads the flags."""
    return UnicodeAttribute(null=True, attr_name=TEXT_ATTRIBUTE)


def packed_attribute() -> BinaryAttribute:
    """The compressed form's attribute, for an item class that reads or writes the flags."""
    return BinaryAttribute(null=True, legacy_encoding=False, attr_name=PACKED_ATTRIBUTE)


def encode(flags: CustomerFlags) -> bytes:
    """The flags as stored: their JSON (as pydantic writes it), compressed with the current dictionary."""
    return CODEC.compress(flags.model_dump_json().encode(), COMPRESSION_LEVEL)


def decode(text: str | None, packed: bytes | None) -> CustomerFlags | None:
    """The flags from either stored form (the compressed one wins); None when there are none or they are
    not readable (an unreadable note must not make the customer unreadable)."""
    try:
        if packed:
            return CustomerFlags.model_validate_json(CODEC.decompress(packed))
        if text:
            return CustomerFlags.model_validate_json(text)
    except (ValidationError, ValueError, zlib.error):
        return None
    return None
