"""Input validation of an image job (files + ops) against a credit schedule, of a quote's
TTL, and of a batch of quotes."""

from rest_framework import serializers

from config.serializers import FastOutputSerializer, StrictInputSerializer
from quotes.identity import SESSION_ID_RE, SESSION_ID_RULE
from quotes.services import MAX_QUOTES_PER_BATCH

MAX_FILE_ID_CHARS = 128
MAX_FILE_NAME_CHARS = 255
# Sides beyond this are not real images; they would only make huge integers.
MAX_IMAGE_SIDE_PX = 100_000
MAX_SIZE_BYTES = 10 * 1024**3
MAX_OP_PARAMS = 20


class JobFileSerializer(StrictInputSerializer):
    id = serializers.CharField(max_length=MAX_FILE_ID_CHARS)
    name = serializers.CharField(max_length=MAX_FILE_NAME_CHARS)
    size_bytes = serializers.IntegerField(min_value=1, max_value=MAX_SIZE_BYTES)
    width = serializers.IntegerField(min_value=1, max_value=MAX_IMAGE_SIDE_PX)
    height = serializers.IntegerField(min_value=1, max_value=MAX_IMAGE_SIDE_PX)


class BoundedFileListField(serializers.ListField):
    """Checks the count against the schedule's max_files before validating each item, so a
    huge list is refused without validating all of it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", JobFileSerializer())
        kwargs.setdefault("allow_empty", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        schedule = self.parent.context.get("schedule") if self.parent else None
        if schedule is not None and isinstance(data, list) and len(data) > schedule.max_files:
            raise serializers.ValidationError(
                f"At most {schedule.max_files} files per job, got {len(data)}.",
                code="max_files",
            )
        return super().to_internal_value(data)


def validate_session_id_value(value):
    if value is not None and not SESSION_ID_RE.fullmatch(value):
        raise serializers.ValidationError(f"Must be {SESSION_ID_RULE}.")


def session_id_field() -> serializers.CharField:
    """The optional body `session_id` of a job, a quote or a batch."""
    return serializers.CharField(
        required=False,
        allow_null=True,
        min_length=16,
        max_length=128,
        validators=[validate_session_id_value],
    )


class JobSpecSerializer(StrictInputSerializer):
    """{files: [{id, name, size_bytes, width, height}], ops: {op: true|{params}}}.

    Needs context["schedule"] (a CreditSchedule): ops must be among its ops and files at
    most its max_files. An op set to false is left out; at least one op must remain.
    """

    files = BoundedFileListField()
    ops = serializers.DictField(child=serializers.JSONField(), allow_empty=False)

    def validate_files(self, files):
        seen: set[str] = set()
        duplicates: list[str] = []
        for file in files:
            if file["id"] in seen and file["id"] not in duplicates:
                duplicates.append(file["id"])
            seen.add(file["id"])
        if duplicates:
            raise serializers.ValidationError(
                f"Duplicate file ids: {', '.join(duplicates)}.", code="duplicate_file_ids"
            )
        return files

    def validate_ops(self, ops):
        schedule = self.context["schedule"]
        errors: dict[str, list[str]] = {}
        chosen: dict = {}
        for name, value in ops.items():
            if name not in schedule.ops:
                known = ", ".join(sorted(schedule.ops))
                errors[name] = [f"Unknown op. Known ops: {known}."]
            elif value is True:
                chosen[name] = True
            elif value is False:
                continue
            elif isinstance(value, dict) and len(value) <= MAX_OP_PARAMS:
                chosen[name] = value
            else:
                errors[name] = [
                    f"Must be true, false or an object of at most {MAX_OP_PARAMS} parameters."
                ]
        if errors:
            raise serializers.ValidationError(errors)
        if not chosen:
            raise serializers.ValidationError("Choose at least one op.", code="no_ops")
        return chosen


class JobInputSerializer(JobSpecSerializer):
    """A job with its optional owner session: {session_id?, files, ops}."""

    session_id = session_id_field()


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, nothing else: DRF's IntegerField also takes "60", 60.0 and true-ish
    strings; a TTL is a count of seconds, so those are 400s here."""

    default_error_messages = {"invalid": "A valid integer is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class QuoteJobInputSerializer(JobSpecSerializer):
    """One quote of a batch: {files, ops, ttl_seconds?}.

    ttl_seconds must be within the context schedule's bounds (CreditSchedule.quote_ttl_error);
    without it the quote lives the schedule's quote_ttl_seconds.
    """

    ttl_seconds = StrictIntegerField(required=False)

    def validate_ttl_seconds(self, value):
        problem = self.context["schedule"].quote_ttl_error(value)
        if problem is not None:
            raise serializers.ValidationError(problem, code="ttl_out_of_range")
        return value


class QuoteInputSerializer(JobInputSerializer, QuoteJobInputSerializer):
    """POST /api/quotes: {session_id?, files, ops, ttl_seconds?}."""


class UpFrontBoundedListField(serializers.ListField):
    """A ListField that refuses a list longer than max_length before validating any item
    (DRF validates every item first, then the length)."""

    def to_internal_value(self, data):
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class QuoteBatchInputSerializer(StrictInputSerializer):
    """POST /api/quotes/batch: {session_id?, quotes: [{files, ops, ttl_seconds?}]} with 1 to
    MAX_QUOTES_PER_BATCH items; errors of item i are under details.quotes["i"]."""

    session_id = session_id_field()
    quotes = UpFrontBoundedListField(
        child=QuoteJobInputSerializer(),
        allow_empty=False,
        min_length=1,
        max_length=MAX_QUOTES_PER_BATCH,
    )


class QuoteOutputSerializer(FastOutputSerializer):
    """A quote as API.md shows it; status is the effective one (expired once past expiry)."""

    id = serializers.UUIDField()
    session_id = serializers.CharField(allow_null=True)
    user_id = serializers.UUIDField(allow_null=True)
    files = serializers.JSONField()
    ops = serializers.JSONField()
    credits_total = serializers.IntegerField()
    per_file_credits = serializers.JSONField()
    per_file = serializers.JSONField()
    schedule = serializers.JSONField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(source="effective_status")


class SharedQuoteOutputSerializer(FastOutputSerializer):
    """A quote as a share link shows it: no session_id (an anonymous owner's credential:
    whoever holds it may use the quote) and no user_id."""

    id = serializers.UUIDField()
    files = serializers.JSONField()
    ops = serializers.JSONField()
    credits_total = serializers.IntegerField()
    per_file_credits = serializers.JSONField()
    per_file = serializers.JSONField()
    schedule = serializers.JSONField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(source="effective_status")
