"""The answer of a use case whose body has not been written yet (HTTP: 501 in the one envelope)."""

from __future__ import annotations

from keepwell.errors import KeepwellError
from keepwell.observability import logger


class NotImplementedYet(KeepwellError):
    status = 501
    code = "not_implemented"


def not_implemented(use_case: str) -> NotImplementedYet:
    """Log (info) and build the error, so callers `raise not_implemented(...)` and say so honestly."""
    logger.info("not implemented yet", extra={"use_case": use_case})
    return NotImplementedYet(f"{use_case} is not implemented yet")
