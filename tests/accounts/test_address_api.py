"""Address endpoints: CRUD scoped to the owner, exactly one default even under concurrency."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Address
from accounts.services.addresses import address_create
from tests.concurrency import fire_concurrently
from tests.conftest import client_for

ADDRESS = {
    "label": "Home",
    "line1": "1 Rue de la Paix",
    "line2": "",
    "city": "Paris",
    "postal_code": "75002",
    "country": "fr",
}
FIELDS = {"line1": "2 Main St", "city": "Lyon", "postal_code": "69001", "country": "FR"}


@pytest.mark.django_db
def test_create_list_get_patch_delete(auth_client):
    # when: the first address is created
    created = auth_client.post("/api/addresses", ADDRESS, format="json")
    # then: it is the default
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["country"] == "FR"
    assert body["is_default"] is True
    assert set(body) >= {"id", "label", "line1", "line2", "city", "postal_code", "country"}

    # when: a second one is created
    second = auth_client.post("/api/addresses", {**ADDRESS, "label": "Work"}, format="json")
    # then: it is not the default, and lists first (newest first)
    assert second.json()["is_default"] is False

    listed = auth_client.get("/api/addresses").json()
    assert [a["label"] for a in listed["results"]] == ["Work", "Home"]
    assert listed["next"] is None

    # when: the first is read and patched (country in any case)
    url = f"/api/addresses/{body['id']}"
    assert auth_client.get(url).json()["label"] == "Home"
    patched = auth_client.patch(url, {"city": "Nice", "country": "it"}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["city"], patched.json()["country"]) == ("Nice", "IT")

    # when: the default is deleted
    assert auth_client.delete(url).status_code == 204
    assert auth_client.get(url).status_code == 404
    # then: the remaining one becomes the default
    remaining = auth_client.get(f"/api/addresses/{second.json()['id']}").json()
    assert remaining["is_default"] is True


@pytest.mark.django_db
def test_set_default_endpoint(auth_client, user):
    first = address_create(user=user, **FIELDS)
    second = address_create(user=user, **FIELDS)

    response = auth_client.post(f"/api/addresses/{second.pk}/default")

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert list(Address.objects.filter(is_default=True).values_list("pk", flat=True)) == [second.pk]
    assert auth_client.get(f"/api/addresses/{first.pk}").json()["is_default"] is False


@pytest.mark.django_db
def test_unsetting_the_default_via_patch_is_a_400(auth_client, user):
    first = address_create(user=user, **FIELDS)

    response = auth_client.patch(f"/api/addresses/{first.pk}", {"is_default": False}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


@pytest.mark.django_db
def test_someone_elses_address_answers_404_for_every_verb(auth_client, make_user):
    theirs = address_create(user=make_user(), **FIELDS)
    url = f"/api/addresses/{theirs.pk}"

    assert auth_client.get(url).status_code == 404
    assert auth_client.patch(url, {"city": "X"}, format="json").status_code == 404
    assert auth_client.delete(url).status_code == 404
    assert auth_client.post(f"{url}/default").status_code == 404
    assert auth_client.get("/api/addresses").json()["results"] == []
    assert Address.objects.get(pk=theirs.pk).city == "Lyon"


@pytest.mark.django_db
def test_addresses_need_a_token(api_client):
    response = api_client.get("/api/addresses")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"country": "XX"},
        {"country": "FRA"},
        {"country": 33},
        {"line1": ""},
        {"line1": "x" * 10_000},
        {"city": None},
        {"postal_code": ["75002"]},
        {"is_default": "maybe"},
        {"label": "nul\x00byte"},
    ],
)
def test_bad_address_input_is_a_400(auth_client, change):
    response = auth_client.post("/api/addresses", {**ADDRESS, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert not Address.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_set_defaults_leave_exactly_one_default(make_user):
    # given: five addresses of one user
    user = make_user()
    addresses = [address_create(user=user, **FIELDS) for _ in range(5)]
    client = client_for(user)
    token = client.token

    def set_default(i):
        caller = APIClient()
        caller.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return caller.post(f"/api/addresses/{addresses[i % 5].pk}/default").status_code

    # when
    outcomes = fire_concurrently(set_default, 50, processes=4)

    # then
    assert outcomes == [200] * 50, outcomes
    assert Address.objects.filter(user=user, is_default=True).count() == 1
    assert Address.objects.filter(user=user).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_and_deletes_keep_one_default(make_user):
    # given: ten addresses, half of which are deleted while ten more are created
    user = make_user()
    doomed = [address_create(user=user, **FIELDS) for _ in range(10)]
    token = client_for(user).token

    def create_or_delete(i):
        caller = APIClient()
        caller.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        if i % 2:
            return caller.delete(f"/api/addresses/{doomed[i // 2].pk}").status_code
        return caller.post("/api/addresses", {**FIELDS, "is_default": i % 4 == 0}).status_code

    # when
    outcomes = fire_concurrently(create_or_delete, 20, processes=4)

    # then
    assert sorted(outcomes) == [201] * 10 + [204] * 10, outcomes
    assert Address.objects.filter(user=user).count() == 10
    assert Address.objects.filter(user=user, is_default=True).count() == 1
