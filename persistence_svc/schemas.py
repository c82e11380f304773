"""Request and response schemas of the persistence API: the validation layer for sessions."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from webargs.fields import DelimitedList

from persistence_svc import field_table
from persistence_svc.field_table import TEAM
from persistence_svc.store_changes import SESSION_FIELDS
from shared import domain
from shared.api import LABEL, PageArgsSchema, Schema

MAX_BATCH = 1000


# One analysis as the agent posts it: the fields and their rules come from the field table.
SessionInSchema = field_table.schema_class(
    Schema,
    "SessionInSchema",
    "One analysis as the agent posts it; names and case numbers are load-only and never stored.",
)
_SESSION_IN = SessionInSchema()


def load_session(data: Any) -> dict[str, Any]:
    """`SessionInSchema().load(data)`, faster for well-formed records (batches and imports load
    thousands): a record that passes the field table's direct checks comes out exactly as the
    schema loads it (tests/properties/test_session_loading.py compares the two); any other goes
    through the schema, whose ValidationError is the answer."""
    loaded = field_table.load_direct(data)
    if loaded is not None:
        return loaded
    return _SESSION_IN.load(data)


class SessionSchema(Schema):
    """A stored session as the API returns it."""

    session_id = fields.UUID()
    engineer_code = fields.String()
    case_ref = fields.String()
    team = fields.String()
    region = fields.String(allow_none=True)
    record_type = fields.String()
    parts = fields.Integer()
    languages = fields.List(fields.String())
    sentiment_score = fields.Float()
    tone_label = fields.String()
    root_cause = fields.String()
    confidence_analysis = fields.Float()
    confidence_translation = fields.Float(allow_none=True)
    confidence_overall = fields.Float()
    confidence_rating = fields.String()
    started_at = fields.AwareDateTime(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    analysed_at = fields.AwareDateTime()
    duration_seconds = fields.Integer(allow_none=True)
    agent_version = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    attributes = fields.Dict()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class SessionWriteArgsSchema(Schema):
    redact = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Redact personal data found in notes/attributes instead of rejecting."
        },
    )


class BatchInSchema(Schema):
    """Up to 1000 sessions; each item is validated on its own."""

    items = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(1, MAX_BATCH, error=f"Send 1 to {MAX_BATCH} items."),
    )


class BatchItemResultSchema(Schema):
    index = fields.Integer()
    session_id = fields.UUID(allow_none=True)
    status = fields.String(metadata={"description": "created, unchanged, conflict or invalid"})
    errors = fields.List(fields.Dict())


class BatchResultSchema(Schema):
    created = fields.Integer()
    unchanged = fields.Integer()
    conflicts = fields.Integer()
    invalid = fields.Integer()
    items = fields.List(fields.Nested(BatchItemResultSchema))


class SessionFilterSchema(Schema):
    """Filters of the session list and export."""

    team = fields.String(validate=TEAM)
    region = fields.String(validate=LABEL)
    engineer_code = fields.String(validate=validate.Length(max=64))
    root_cause = fields.String(validate=validate.OneOf(domain.ROOT_CAUSES))
    language = fields.String(validate=validate.OneOf(domain.SUPPORTED_LANGUAGES))
    from_ = fields.AwareDateTime(data_key="from", metadata={"description": "analysed_at >= from"})
    to = fields.AwareDateTime(metadata={"description": "analysed_at < to"})


class SessionQueryArgsSchema(SessionFilterSchema, PageArgsSchema):
    """Filters and keyset pagination of the session list."""


class ExportArgsSchema(SessionFilterSchema):
    """Filters of the export and its format."""

    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "json", "ndjson")))


class ImportArgsSchema(Schema):
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "Validate and count, write nothing."}
    )


class ImportErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "Spreadsheet row: header = 1, first record = 2."})
    field = fields.String()
    code = fields.String()
    message = fields.String()


class ImportReportSchema(Schema):
    id = fields.UUID()
    status = fields.String(metadata={"description": "running, completed or failed"})
    dry_run = fields.Boolean()
    total = fields.Integer(allow_none=True)
    processed = fields.Integer()
    inserted = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema))
    failure = fields.String(allow_none=True)


class SessionPageSchema(Schema):
    items = fields.List(fields.Nested(SessionSchema))
    next_cursor = fields.String(allow_none=True)


class EngineerLookupSchema(Schema):
    engineer = fields.String(required=True, load_only=True, validate=validate.Length(1, 200))


class EngineerCodeSchema(Schema):
    engineer_code = fields.String()


MAX_LOOKUP_BATCH = 100


class EngineerBatchLookupSchema(Schema):
    engineers = fields.List(
        fields.String(validate=validate.Length(1, 200)),
        required=True,
        load_only=True,
        validate=validate.Length(1, MAX_LOOKUP_BATCH),
        metadata={"description": f"1 to {MAX_LOOKUP_BATCH} names; never stored."},
    )


class EngineerBatchCodeSchema(Schema):
    engineer = fields.Integer(
        metadata={"description": "The name's place in the request (0 first), never the name."}
    )
    engineer_code = fields.String()


class EngineerBatchCodesSchema(Schema):
    items = fields.List(fields.Nested(EngineerBatchCodeSchema))


class ErasureResultSchema(Schema):
    engineer_code = fields.String()
    sessions_deleted = fields.Integer()


MAX_CHECKED_TEXTS = 1000
MAX_CHECKED_TEXT = 10_000


class FreeTextCheckSchema(Schema):
    """Free text of another service to check for personal data (never stored or logged)."""

    texts = fields.List(
        fields.String(validate=validate.Length(max=MAX_CHECKED_TEXT)),
        required=True,
        load_only=True,
        validate=validate.Length(1, MAX_CHECKED_TEXTS),
    )


class FindingSchema(Schema):
    kind = fields.String(metadata={"description": "e.g. person_name, email, case_number"})
    start = fields.Integer()
    end = fields.Integer()


class TextFindingsSchema(Schema):
    findings = fields.List(fields.Nested(FindingSchema))


class FreeTextFindingsSchema(Schema):
    items = fields.List(
        fields.Nested(TextFindingsSchema), metadata={"description": "One per text, in order."}
    )


CHANGE_PAGE_FORMATS = ("json", "rows")
MAX_CHANGES_PAGE = 10_000  # the trends worker's pages (per-page costs spread over many changes)


class ChangeArgsSchema(Schema):
    after = fields.String(
        load_default="",
        validate=validate.Length(max=64),
        metadata={"description": "`next_cursor` of the previous page; empty for the beginning."},
    )
    limit = fields.Integer(load_default=500, validate=validate.Range(1, MAX_CHANGES_PAGE))
    session_fields = DelimitedList(
        fields.String(validate=validate.OneOf(SESSION_FIELDS)),
        data_key="fields",
        validate=validate.Length(min=1),
        metadata={
            "description": "The session fields each item carries (comma-separated); all of "
            "them when left out."
        },
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(CHANGE_PAGE_FORMATS),
        metadata={
            "description": "`json`: the changes one by one (ChangePage). `rows`: the page's net "
            "rows in PostgreSQL's binary COPY format (`application/octet-stream`), one a session "
            "the page names as its last change left it: `session_id`, then `fields` in their "
            "order, all null when it was deleted, for `COPY ... FROM STDIN (FORMAT binary)` into "
            "columns of the same types; the page's `changes`, `next_cursor`, `applied_through` "
            "and `head` come as JSON in the `X-Feed-Page` header."
        },
    )


class ChangeSchema(Schema):
    cursor = fields.String()
    operation = fields.String(metadata={"description": "insert, update or delete"})
    session_id = fields.UUID()
    changed_at = fields.AwareDateTime()
    session = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The session as it is now (null for a delete or when erased since)."
        },
    )


class ChangeHeadSchema(Schema):
    pending = fields.Integer(
        metadata={
            "description": "Changes committed after `next_cursor` (a lower bound past 10,000 "
            "log rows)."
        }
    )
    pending_since = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When the oldest of them was written."}
    )
    held_back_from = fields.String(
        allow_none=True,
        metadata={
            "description": "A transaction id: the oldest transaction whose committed changes the "
            "feed still holds back, behind an older transaction still running (null: none)."
        },
    )
    committed_below = fields.String(
        metadata={
            "description": "A transaction id: every transaction that had committed when the page "
            "was read is below it. A follower that needs every change committed before a moment "
            "keeps this from a page read after it and reads on while `held_back_from` is below it."
        }
    )


class ChangePageSchema(Schema):
    items = fields.List(fields.Nested(ChangeSchema))
    next_cursor = fields.String()
    head = fields.Nested(ChangeHeadSchema)
