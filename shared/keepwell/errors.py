"""Domain errors and the one error envelope every HTTP function answers with.

Domain code raises these; the HTTP layer (keepwell.http) maps them to a status code and
`{"error": {"code", "message", "details"}}` in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the authorizer imports this module and no pydantic (decision 0027)
    from pydantic import ValidationError


class KeepwellError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code:
            self.code = code

    def envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(KeepwellError):
    status = 400
    code = "bad_request"


class InvalidInput(KeepwellError):
    status = 400
    code = "validation_error"


class Unauthorized(KeepwellError):
    status = 401
    code = "unauthorized"


class Forbidden(KeepwellError):
    status = 403
    code = "forbidden"


class NotFound(KeepwellError):
    status = 404
    code = "not_found"


class Conflict(KeepwellError):
    status = 409
    code = "conflict"


class PayloadTooLarge(KeepwellError):
    status = 413
    code = "payload_too_large"


class ServiceUnavailable(KeepwellError):
    status = 503
    code = "service_unavailable"


# AWS answers that mean "try again shortly": throttling and server-side faults, seen after the SDK's
# own retries gave up (botocore ClientError codes; pynamodb wraps them and keeps them as the cause).
TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


def transient_aws_error(error: BaseException) -> str | None:
    """The AWS error code if `error` (or what caused it) is a throttle or a server-side fault of AWS."""
    seen: BaseException | None = error
    for _ in range(10):  # the cause chain is short; never loop on a cycle
        if seen is None:
            return None
        response = getattr(seen, "response", None)
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
        if code in TRANSIENT_AWS_CODES:
            return str(code)
        seen = seen.__cause__ or seen.__context__
    return None


def from_validation_error(error: ValidationError, where: str = "body") -> InvalidInput:
    """Turn a pydantic error into a 400 whose message names every offending field."""
    details = []
    for item in error.errors(include_url=False, include_context=False):
        field = ".".join(str(part) for part in item["loc"]) or where
        details.append({"field": field, "issue": item["msg"], "type": item["type"]})
    fields = ", ".join(d["field"] for d in details)
    return InvalidInput(f"Invalid {where}: check {fields}", details=details)
