"""pynamodb models of the one table. Every model shares the table, the key attributes and the indexes.

Each model class is one entity type; items of different types live side by side, told apart by
their sort keys (built in `keys.py`) and the `entity` attribute.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from keepwell.aws_session import botocore_session
from keepwell.settings import get_settings


class _TableMeta:
    # Read from the settings at import (a function without TABLE_NAME does not start).
    table_name = get_settings().table_name
    region = get_settings().region
    max_retry_attempts = 3


class Gsi1(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class _CustomerOrderIndex(GlobalSecondaryIndex[Any]):
    """The workspace's customer profiles (gsi1pk) in one more order: sparse, only profiles carry the
    range attribute (storage/customer_lists.py)."""

    gsi1pk = UnicodeAttribute(hash_key=True)


class Gsi3(_CustomerOrderIndex):
    class Meta:
        index_name = "gsi3"
        projection = AllProjection()

    gsi3sk = UnicodeAttribute(range_key=True)  # health score


class Gsi4(_CustomerOrderIndex):
    class Meta:
        index_name = "gsi4"
        projection = AllProjection()

    gsi4sk = UnicodeAttribute(range_key=True)  # ARR


class Gsi5(_CustomerOrderIndex):
    class Meta:
        index_name = "gsi5"
        projection = AllProjection()

    gsi5sk = UnicodeAttribute(range_key=True)  # renewal date


class TableItem(Model):
    """Base of every entity: the key attributes, the indexes and the TTL attribute."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    # Only customer profiles carry these: the list orders of GET /v1/customers (keys.customer_*_order).
    gsi3sk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    gsi5sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    gsi1 = Gsi1()
    gsi2 = Gsi2()
    gsi3 = Gsi3()
    gsi4 = Gsi4()
    gsi5 = Gsi5()

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # Every entity is the same table with the same keys and indexes: one connection, so one botocore
        # session and client per container instead of one per model class, each parsing DynamoDB's
        # service model again (cold start, memory, and ~30,000 more objects for the GC to rescan).
        if cls is not TableItem:
            return TableItem._get_connection()
        connection = super()._get_connection()
        # pynamodb builds a botocore session per connection and thread; this thread's shared one instead,
        # which the boto3 clients (adapters/aws.py) are built from too (keepwell/aws_session.py).
        local = connection.connection._local
        if getattr(local, "session", None) is None:
            local.session = botocore_session()
        return connection


def table_connection() -> Connection:
    """The entity models' connection, for transactions (a new Connection would build a client per call)."""
    return TableItem._get_connection().connection


class WorkspaceItem(TableItem):
    name = UnicodeAttribute()
    timezone = UnicodeAttribute(default="UTC")
    scoring_hour = NumberAttribute(default=5)
    created_at = UnicodeAttribute()
    settings = MapAttribute[str, Any](default=dict)


class UserItem(TableItem):
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()
    # The identity provider's `sub` of the person, once they signed in (indexed on gsi1: keys.subject_index).
    subject = UnicodeAttribute(null=True)


class ApiKeyItem(TableItem):
    key_id = UnicodeAttribute()
    prefix = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


class CustomFieldItem(TableItem):
    key = UnicodeAttribute()
    label = UnicodeAttribute()
    field_type = UnicodeAttribute()
    options = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    created_at = UnicodeAttribute()


class CustomerItem(TableItem):
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    domain = UnicodeAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    arr = NumberAttribute(default=0)
    mrr = NumberAttribute(default=0)
    status = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    co_owner_ids = UnicodeSetAttribute(null=True)
    champion_contact_id = UnicodeAttribute(null=True)
    tier = UnicodeAttribute(null=True)
    industry = UnicodeAttribute(null=True)
    region = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    plan = UnicodeAttribute(null=True)
    employee_count = NumberAttribute(null=True)
    seats = NumberAttribute(null=True)
    renewal_date = UnicodeAttribute(null=True)
    nps = NumberAttribute(null=True)
    tags = UnicodeSetAttribute(null=True)
    custom_fields = MapAttribute[str, Any](default=dict)
    archived = BooleanAttribute(default=False)
    health_score = NumberAttribute(null=True)
    health_band = UnicodeAttribute(null=True)
    health_scored_at = UnicodeAttribute(null=True)
    churn_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    # Red and green flags of the latest scored day (domain.customers.CustomerFlags as JSON) and that
    # day, which conditions the write so an older day never replaces a newer one.
    # `flags_z` compressed (storage/stored_flags.py); `flags_json` the JSON text of profiles stored before.
    flags_json = UnicodeAttribute(null=True)
    flags_z = BinaryAttribute(null=True, legacy_encoding=False)
    flags_scored_on = UnicodeAttribute(null=True)
    # Contact depth (domain.contacts.ContactDepth), moved by every contact write (storage/contacts.py)
    # so the scorer's one read has it for the Relationship dimension.
    contacts_total = NumberAttribute(null=True)
    contacts_executive = NumberAttribute(null=True)
    contacts_manager = NumberAttribute(null=True)
    contacts_practitioner = NumberAttribute(null=True)


class CustomerAliasItem(TableItem):
    """Finds a customer by domain or external id with one GetItem (ingestion's hot path)."""

    customer_id = UnicodeAttribute()


class ContactItem(TableItem):
    contact_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    role_change_recorded_at = UnicodeAttribute(null=True)
    email_bounced = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class TimelineItem(TableItem):
    item_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    source_event_id = UnicodeAttribute(null=True)
    attributes = MapAttribute[str, Any](default=dict)
    created_at = UnicodeAttribute()
