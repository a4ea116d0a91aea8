"""API Gateway TOKEN authorizer: verify the bearer ID token, resolve the person's workspaces and roles.

The decision is cached per token (ReauthorizeEvery) and carries every membership of the person, so
the API picks the workspace each request names (`X-Keepwell-Workspace`) without a new decision.
"""

from __future__ import annotations

import gc

# Cold start (decision 0027): no cyclic garbage collection while the container's modules load (~8% of
# their import's CPU); they live as long as the container, so the end of this module freezes them out of
# the collector's passes and turns it back on (as it was: the tests and the local stack import it too).
_COLLECTING = gc.isenabled()
gc.disable()

from typing import Any

# Every request here verifies a token: PyJWT and cryptography are imported during the container's
# initialisation (keepwell.auth imports them on first use, for the functions that never verify one).
import jwt  # noqa: F401
from aws_lambda_powertools.utilities.typing import LambdaContext

from keepwell.auth import NotConfigured
from keepwell.errors import Unauthorized
from keepwell.observability import logger
from keepwell.services.authentication import authenticate
from keepwell.settings import get_settings

# Deployed, tokens are RS256-signed by an issuer: without its JWKS URL and name the authorizer refuses
# to start (naming the variables) rather than answer every request 401 or skip the issuer check.
if not get_settings().is_local:
    get_settings().require("jwks_url", "jwt_issuer")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    api = api_of(event["methodArn"])
    try:
        caller = authenticate(event["authorizationToken"], get_settings())
    except NotConfigured as unconfigured:
        logger.error(unconfigured.message)  # the deployment is wrong, not the token: say so loudly
        raise Exception("Unauthorized") from None
    except Unauthorized as denied:
        logger.info("bearer token rejected", extra={"reason": denied.message})
        # API Gateway answers 401 (the UNAUTHORIZED gateway response) for exactly this message.
        raise Exception("Unauthorized") from None
    # The decision is cached per token for every route, so allow the whole API, not this method only.
    return {
        "principalId": caller.subject or caller.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{api}/*/*"]}],
        },
        "context": caller.as_authorizer_context(),
    }


def api_of(method_arn: str) -> str:
    """`arn:aws:execute-api:<region>:<account>:<api id>/<stage>` of a TOKEN event's method ARN
    (`…/<stage>/<method>/<resource path>`). The event and policy are plain dicts, as API Gateway sends and
    reads them: powertools' authorizer classes would import its ~40 event classes on every cold start."""
    _arn, _partition, _service, region, account, path = method_arn.split(":", 5)
    api_id, stage = path.split("/")[:2]
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}"


# Everything above lives as long as the container: out of the collector's passes from now on (decision 0027).
gc.freeze()
if _COLLECTING:
    gc.enable()
