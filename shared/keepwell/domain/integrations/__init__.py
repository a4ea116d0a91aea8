"""Provider integrations, pure (no AWS): the webhooks' parsers (`deliveries`: provider webhooks → normalised
timeline drafts with customer links), HubSpot's two-way sync rules (`hubspot_sync`), the generic source's
events, tickets and URLs.

The deliveries' names are imported from their module on first use (PEP 562), as in `keepwell.domain.health`:
the customers service and HubSpot's storage import `hubspot_sync` only, and a package __init__ that imported
every provider's parser (with the generic source's pydantic models and the inbound signature verifiers) made
each of the functions that use them pay for all of them at start (cold starts, decision 0027).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keepwell.lazy import names_from

if TYPE_CHECKING:
    from keepwell.domain.integrations.deliveries import (
        MIN_GENERIC_KEY_BYTES,
        PARSERS,
        SIGNATURE_HEADERS,
        Parser,
        check_secret,
        delivery_id,
        parse_delivery,
    )

__all__ = [
    "MIN_GENERIC_KEY_BYTES",
    "PARSERS",
    "SIGNATURE_HEADERS",
    "Parser",
    "check_secret",
    "delivery_id",
    "parse_delivery",
]

_MODULE_OF = dict.fromkeys(__all__, "keepwell.domain.integrations.deliveries")  # every name is a delivery's
__getattr__ = names_from(__name__, _MODULE_OF)
