"""An in-process moto with the template's resources and one function's environment, as the tests and the
local stack run it (`infra/moto_patches.py` installed): what the benchmarks that call the services or a
handler directly share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from infra.template import Resolver


@contextmanager
def embedded_stack(function_id: str, log_level: str = "WARNING") -> Iterator[Resolver]:
    """moto with every resource of template.yaml, the process environment of `function_id` (its table,
    queues, bus...) and fresh AWS clients; the functions' logs at `log_level`."""
    import boto3
    from moto import mock_aws

    from infra.moto_patches import install_all
    from infra.resources import create_stack_resources
    from infra.template import function_environment, load_template

    install_all()
    with mock_aws():
        resolver = create_stack_resources(boto3.Session(region_name="us-east-1"))
        os.environ.update(function_environment(load_template(), function_id, resolver))
        os.environ["POWERTOOLS_LOG_LEVEL"] = log_level
        from infra.local import reset_aws_clients

        reset_aws_clients()
        yield resolver
