"""API Gateway TOKEN authorizer: verify the bearer JWT, resolve the user's workspace and role."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from keepwell.errors import Unauthorized
from keepwell.observability import logger
from keepwell.services.authentication import authenticate
from keepwell.settings import get_settings


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:
    arn = event.parsed_arn
    try:
        caller = authenticate(event.authorization_token, get_settings())
    except Unauthorized as denied:
        logger.info("bearer token rejected", extra={"reason": denied.message})
        # API Gateway answers 401 (the UNAUTHORIZED gateway response) for exactly this message.
        raise Exception("Unauthorized") from None
    policy = APIGatewayAuthorizerResponse(
        principal_id=caller.user_id,
        context=caller.as_authorizer_context(),
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
    )
    # The decision is cached per token for every route, so allow the whole API, not this method only.
    policy.allow_all_routes()
    return policy.asdict()
