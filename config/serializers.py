"""The base of every InputSerializer: a request field the serializer does not know is a 400."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field."


def _nested_unknown(field: serializers.Field, value: Any) -> Any:
    """Unknown-field errors inside `value`, the data of `field`; None when there are none."""
    if isinstance(field, serializers.Serializer):
        return unknown_field_errors(field, value) or None
    if isinstance(field, serializers.ListSerializer | serializers.ListField):
        child = field.child
        if child is None or not isinstance(value, list):
            return None
        per_item = {i: _nested_unknown(child, item) for i, item in enumerate(value)}
        return {i: errors for i, errors in per_item.items() if errors} or None
    if isinstance(field, serializers.DictField):
        if not isinstance(value, Mapping):
            return None
        per_key = {key: _nested_unknown(field.child, item) for key, item in value.items()}
        return {key: errors for key, errors in per_key.items() if errors} or None
    return None


def unknown_field_errors(serializer: serializers.Serializer, data: Any) -> dict[str, Any]:
    """{key: ["Unknown field."]} for every key of `data` that `serializer` does not accept
    (read-only fields included), at any depth of nested serializers, list and dict fields."""
    if not isinstance(data, Mapping):
        return {}
    fields = serializer.fields
    errors: dict[str, Any] = {}
    for key in data:
        field = fields.get(key)
        if field is None or field.read_only:
            errors[key] = [UNKNOWN_FIELD]
        elif (nested := _nested_unknown(field, data[key])) is not None:
            errors[key] = nested
    return errors


class StrictInputSerializer(serializers.Serializer):
    """Use for every InputSerializer (and the serializers nested in one).

    DRF drops fields it does not know, so a misspelt or not-yet-supported field would be
    ignored without a word; here it is a 400 validation_error naming the field, before any
    other validation runs.
    """

    def to_internal_value(self, data):
        errors = unknown_field_errors(self, data)
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
