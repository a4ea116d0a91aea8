"""SES: send one plain-text email. Errors say whether it certainly was not sent (retry) or was
refused for good (an unverified sender, a bad address)."""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from keepwell.adapters.aws import client

RETRYABLE = frozenset(
    {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure", "RequestTimeout", "LimitExceeded"}
)


class EmailNotSent(Exception):
    """SES did not take the email (throttled, unavailable, unreachable): retrying is safe."""


class EmailRejected(Exception):
    """SES refused the email for a reason a retry will not fix."""


class EmailUncertain(Exception):
    """The call timed out after it was sent: SES may have taken it."""


def send_email(sender: str, to: str, subject: str, text: str, reply_to: str | None = None) -> str:
    """Send; returns SES's message id."""
    request = {
        "Source": sender,
        "Destination": {"ToAddresses": [to]},
        "Message": {
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
        },
    }
    if reply_to:
        request["ReplyToAddresses"] = [reply_to]
    try:
        response = client("ses").send_email(**request)
    except (EndpointConnectionError, ConnectTimeoutError) as error:
        raise EmailNotSent(str(error)) from error
    except ReadTimeoutError as error:
        raise EmailUncertain(str(error)) from error
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", code))
        if code in RETRYABLE:
            raise EmailNotSent(f"{code}: {message}") from error
        raise EmailRejected(f"{code}: {message}") from error
    return str(response.get("MessageId", ""))
