"""A customer's domain name as Keepwell keys it (`acme.com`): what a profile stores and what product events
and imports name a customer by.

Its own module, pure: ingestion resolves events by domain without importing the customer model and its
churn types (decision 0027, cold starts); `keepwell.domain.customers` re-exports it."""

from __future__ import annotations

import re

_DOMAIN_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_DOMAIN_LABEL}\.)+[a-z]{{2,63}}$")


def normalise_domain(raw: str) -> str:
    """`https://WWW.Acme.com/pricing` → `acme.com`; ValueError if what is left is not a host name."""
    value = raw.strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)  # scheme
    value = re.split(r"[/?#]", value, maxsplit=1)[0]  # path, query, fragment
    value = value.split("@")[-1].split(":")[0].rstrip(".")  # user info, port, root dot
    value = value.removeprefix("www.")
    if len(value) > 253 or not _DOMAIN_RE.match(value):
        raise ValueError(f"{raw!r} is not a domain name")
    return value
