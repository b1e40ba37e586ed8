"""Addresses: exactly one default whenever any exist, enforced by locks and the database."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Address
from accounts.selectors import address_get_for_user
from accounts.services.addresses import (
    address_create,
    address_delete,
    address_set_default,
    address_update,
)
from config.errors import NotFound, ValidationFailed
from tests.accounts.factories import AddressFactory

FIELDS = {"line1": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "fr"}


def defaults_of(user) -> list:
    return list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))


@pytest.mark.django_db
def test_first_address_becomes_default_and_later_ones_do_not(user):
    first = address_create(user=user, **FIELDS)
    second = address_create(user=user, **FIELDS)

    assert first.is_default
    assert first.country == "FR"
    assert not second.is_default
    assert defaults_of(user) == [first.pk]


@pytest.mark.django_db
def test_set_default_moves_the_single_default(user):
    first = address_create(user=user, **FIELDS)
    second = address_create(user=user, **FIELDS)

    address_set_default(user=user, address_id=second.pk)
    assert defaults_of(user) == [second.pk]

    third = address_create(user=user, is_default=True, **FIELDS)
    assert defaults_of(user) == [third.pk]
    address_update(user=user, address_id=first.pk, is_default=True, city="Nice")
    assert defaults_of(user) == [first.pk]
    assert Address.objects.get(pk=first.pk).city == "Nice"


@pytest.mark.django_db
def test_the_default_cannot_be_unset_directly(user):
    first = address_create(user=user, **FIELDS)

    with pytest.raises(ValidationFailed):
        address_update(user=user, address_id=first.pk, is_default=False)
    assert defaults_of(user) == [first.pk]


@pytest.mark.django_db
def test_deleting_the_default_promotes_the_most_recent_remaining(user):
    first = address_create(user=user, **FIELDS)
    second = address_create(user=user, **FIELDS)
    third = address_create(user=user, **FIELDS)
    address_set_default(user=user, address_id=second.pk)

    address_delete(user=user, address_id=second.pk)
    assert defaults_of(user) == [third.pk]
    address_delete(user=user, address_id=first.pk)
    assert defaults_of(user) == [third.pk]
    address_delete(user=user, address_id=third.pk)
    assert defaults_of(user) == []


@pytest.mark.django_db
def test_database_refuses_two_defaults(user):
    AddressFactory(user=user, is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, is_default=True)


@pytest.mark.django_db
def test_someone_elses_address_is_not_found(user, make_user):
    other = address_create(user=make_user(), **FIELDS)

    with pytest.raises(NotFound):
        address_get_for_user(user=user, address_id=other.pk)
    with pytest.raises(NotFound):
        address_set_default(user=user, address_id=other.pk)
    with pytest.raises(NotFound):
        address_delete(user=user, address_id=other.pk)
    with pytest.raises(NotFound):
        address_get_for_user(user=user, address_id="not-a-uuid")
    assert address_get_for_user(user=other.user, address_id=other.pk) == other
