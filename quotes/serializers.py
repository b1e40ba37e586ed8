"""Input validation of an image job (files + ops) against a credit schedule."""

from rest_framework import serializers

from config.serializers import FastOutputSerializer, StrictInputSerializer
from quotes.identity import SESSION_ID_RE, SESSION_ID_RULE

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


class JobInputSerializer(StrictInputSerializer):
    """{session_id?, files: [{id, name, size_bytes, width, height}], ops: {op: true|{params}}}.

    Needs context["schedule"] (a CreditSchedule): ops must be among its ops and files at
    most its max_files. An op set to false is left out; at least one op must remain.
    """

    session_id = serializers.CharField(
        required=False, allow_null=True, min_length=16, max_length=128
    )
    files = BoundedFileListField()
    ops = serializers.DictField(child=serializers.JSONField(), allow_empty=False)

    def validate_session_id(self, value):
        if value is not None and not SESSION_ID_RE.fullmatch(value):
            raise serializers.ValidationError(f"Must be {SESSION_ID_RULE}.")
        return value

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
