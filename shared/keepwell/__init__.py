"""Keepwell's common package: schemas, domain, storage and adapters shared by every Lambda."""

from pydantic import BaseModel

# Cold starts (decision 0027): each pydantic model of the package builds its validator and serializer
# when first used rather than when its module is imported. A function imports up to ~200 models and a
# request uses a handful; validation and serialisation are unchanged. Set here, before any model of the
# package is defined, because a model inherits BaseModel's configuration when its class is created.
BaseModel.model_config["defer_build"] = True
