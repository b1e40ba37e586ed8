"""Serializer bases: strict input (an unknown request field is a 400) and output that
renders without DRF's per-instance deep copy of its fields."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

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


# Fields whose to_representation depends only on the value (no context, no request, no
# parent state): one bound copy of them can serve every instance of the serializer.
CONTEXT_FREE_FIELDS = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.DecimalField,
    serializers.FloatField,
    serializers.IntegerField,
    serializers.JSONField,
    serializers.UUIDField,
)

# Per serializer class: its readable fields bound once, or None when a field is not
# context-free. Derived from class definitions only (rebuildable, no request data).
_shared_fields: dict[type, list | None] = {}


def _fields_of(serializer_class) -> list | None:
    if serializer_class not in _shared_fields:
        fields = [f for f in serializer_class().fields.values() if not f.write_only]
        plain = all(
            type(field) in CONTEXT_FREE_FIELDS or isinstance(field, CONTEXT_FREE_FIELDS)
            for field in fields
        )
        _shared_fields[serializer_class] = fields if plain else None
    return _shared_fields[serializer_class]


class FastOutputSerializer(serializers.Serializer):
    """Same output as Serializer.to_representation, but DRF deep-copies every declared
    field for each serializer instance (about half of a small read's serialization time).
    When all fields are plain values (CONTEXT_FREE_FIELDS), one bound copy per class
    serves every instance; otherwise this falls back to DRF's own path."""

    def to_representation(self, instance):
        fields = _fields_of(type(self))
        if fields is None:
            return super().to_representation(instance)
        ret = {}
        for field in fields:
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[field.field_name] = (
                None if check_for_none is None else field.to_representation(attribute)
            )
        return ret
