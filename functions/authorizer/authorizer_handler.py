"""API Gateway TOKEN authorizer: verify the bearer ID token, resolve the person's workspaces and roles.

The decision is cached per token (ReauthorizeEvery) and carries every membership of the person, so
the API picks the workspace each request names (`X-Keepwell-Workspace`) without a new decision.
"""

from __future__ import annotations

from typing import Any

# Every request here verifies a token: PyJWT and cryptography are imported during the container's
# initialisation (keepwell.auth imports them on first use, for the functions that never verify one).
import jwt  # noqa: F401
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
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
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:
    arn = event.parsed_arn
    try:
        caller = authenticate(event.authorization_token, get_settings())
    except NotConfigured as unconfigured:
        logger.error(unconfigured.message)  # the deployment is wrong, not the token: say so loudly
        raise Exception("Unauthorized") from None
    except Unauthorized as denied:
        logger.info("bearer token rejected", extra={"reason": denied.message})
        # API Gateway answers 401 (the UNAUTHORIZED gateway response) for exactly this message.
        raise Exception("Unauthorized") from None
    policy = APIGatewayAuthorizerResponse(
        principal_id=caller.subject or caller.user_id,
        context=caller.as_authorizer_context(),
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
    )
    # The decision is cached per token for every route, so allow the whole API, not this method only.
    policy.allow_all_routes()
    return policy.asdict()
