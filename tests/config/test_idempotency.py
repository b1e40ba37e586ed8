"""Idempotency-Key: every rule of config.idempotency, through the real endpoints."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone

from accounts.models import AuthSession
from config.cleanup import cleanup_run
from config.idempotency import caller_scope
from config.models import IdempotencyKey, IdempotencyKeyState
from orders.models import Order, Product
from quotes.models import Quote
from rendering.models import RenderJob
from tests.accounts.factories import AddressFactory
from tests.conftest import TEST_PASSWORD, client_for
from tests.orders.factories import ProductFactory
from tests.rendering.factories import ShopFactory, confirmed_session, product_png, product_upload
from tests.uploads.images import jpeg_bytes, png_bytes
from uploads.models import UploadedFile

pytestmark = pytest.mark.django_db

KEY = "order-7f3a2c"
SESSION = "anon-session-0000000001"
OTHER_SESSION = "anon-session-0000000002"


@pytest.fixture
def stock(db):
    return ProductFactory(sku="POSTER", price_cents=2500, stock_quantity=10)


@pytest.fixture
def address(user):
    return AddressFactory(user=user, is_default=True)


def order_body(address, quantity: int = 1) -> dict:
    return {"address_id": str(address.id), "items": [{"sku": "POSTER", "quantity": quantity}]}


def post(client, path: str, body=None, key: str | None = KEY, **extra):
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(path, body, format="json", **extra)


def stock_left() -> int:
    return Product.objects.get(sku="POSTER").stock_quantity


def quote_body(**extra) -> dict:
    files = [{"id": "f1", "name": "a.jpg", "size_bytes": 1000, "width": 1000, "height": 1000}]
    return {"files": files, "ops": {"upscale": True}, **extra}


# --- replay ---------------------------------------------------------------------------------


def test_without_the_header_every_call_runs_and_nothing_is_recorded(auth_client, stock, address):
    first = post(auth_client, "/api/orders", order_body(address), key=None)
    second = post(auth_client, "/api/orders", order_body(address), key=None)

    assert (first.status_code, second.status_code) == (201, 201)
    assert Order.objects.count() == 2
    assert not IdempotencyKey.objects.exists()
    assert "Idempotent-Replayed" not in first


def test_a_retry_replays_the_first_answer_byte_for_byte_and_places_one_order(
    auth_client, user, stock, address
):
    # given a first order placed with a key
    first = post(auth_client, "/api/orders", order_body(address, 2))
    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first

    # when the client retries it twice
    retries = [post(auth_client, "/api/orders", order_body(address, 2)) for _ in range(2)]

    # then both are the stored answer, and the change happened once
    for retry in retries:
        assert retry.status_code == 201
        assert retry.content == first.content
        assert retry["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert stock_left() == 8
    record = IdempotencyKey.objects.get()
    assert (record.scope, record.method, record.path, record.key) == (
        f"user:{user.pk}",
        "POST",
        "/api/orders",
        KEY,
    )
    assert record.state == IdempotencyKeyState.COMPLETED
    assert record.response_status == 201


def test_the_same_body_with_keys_in_another_order_is_the_same_request(auth_client, stock, address):
    body = order_body(address)
    reordered = {"items": body["items"], "address_id": body["address_id"]}

    first = post(auth_client, "/api/orders", body)
    again = post(auth_client, "/api/orders", reordered)

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_bodiless_answers_replay_too_and_a_dead_token_is_401_before_any_replay(auth_client):
    first = post(auth_client, "/api/notifications/read-all")
    again = post(auth_client, "/api/notifications/read-all")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() == {"marked_read": 0}
    assert again["Idempotent-Replayed"] == "true"

    logout = post(auth_client, "/api/users/logout")

    assert logout.status_code == 204
    assert IdempotencyKey.objects.get(path="/api/users/logout").response_body == ""
    # The retry of a logout authenticates first: the token is dead, so 401, no replay.
    assert post(auth_client, "/api/users/logout").status_code == 401


# --- 422: same key, another body ----------------------------------------------------------------


def test_the_same_key_with_another_body_is_422_and_changes_nothing(auth_client, stock, address):
    post(auth_client, "/api/orders", order_body(address, 1))

    reused = post(auth_client, "/api/orders", order_body(address, 3))

    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    assert stock_left() == 9


# --- 409 while in flight, and the lease ------------------------------------------------------


def hold_as_running(*, locked_for: timedelta, answered: bool = False) -> IdempotencyKey:
    """Turn the one stored record back into a request that is still running (or died)."""
    fields = {"state": IdempotencyKeyState.RUNNING, "locked_until": timezone.now() + locked_for}
    if not answered:
        fields.update(response_status=None, response_body="")
    IdempotencyKey.objects.update(**fields)
    return IdempotencyKey.objects.get()


def test_a_key_still_running_answers_409_with_retry_after(auth_client, stock, address):
    post(auth_client, "/api/orders", order_body(address))
    hold_as_running(locked_for=timedelta(seconds=42))

    response = post(auth_client, "/api/orders", order_body(address))

    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_in_use"
    assert response["Retry-After"] == "1"
    assert Order.objects.count() == 1
    # The 409 is about the key, not the request: it is never stored.
    assert IdempotencyKey.objects.get().response_status is None


def test_an_expired_lease_without_an_answer_is_taken_over_and_runs_once(
    auth_client, stock, address
):
    # given a record whose process died before committing (no order, lease expired)
    post(auth_client, "/api/orders", order_body(address))
    Order.objects.all().delete()
    Product.objects.filter(sku="POSTER").update(stock_quantity=10)
    dead = hold_as_running(locked_for=-timedelta(seconds=1))

    # when the client retries
    response = post(auth_client, "/api/orders", order_body(address))

    # then the retry takes the key over, runs, and completes the same record
    assert response.status_code == 201, response.json()
    assert "Idempotent-Replayed" not in response
    record = IdempotencyKey.objects.get()
    assert record.pk == dead.pk
    assert record.lease != dead.lease
    assert record.state == IdempotencyKeyState.COMPLETED
    assert Order.objects.count() == 1
    assert stock_left() == 9


def test_an_expired_lease_with_a_committed_answer_is_replayed(auth_client, stock, address):
    # The process died after its commit but before marking the key completed.
    first = post(auth_client, "/api/orders", order_body(address))
    hold_as_running(locked_for=-timedelta(seconds=1), answered=True)

    response = post(auth_client, "/api/orders", order_body(address))

    assert response.status_code == 201
    assert response["Idempotent-Replayed"] == "true"
    assert response.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1


def test_a_request_that_lost_its_lease_rolls_its_change_back(
    auth_client, stock, address, monkeypatch
):
    # given a handler that outlives its lease: another request takes the key over meanwhile
    from orders import api as orders_api

    real_place = orders_api.order_place

    def slow_place(**kwargs):
        order = real_place(**kwargs)
        IdempotencyKey.objects.update(lease=uuid.uuid4())
        return order

    monkeypatch.setattr(orders_api, "order_place", slow_place)

    # when it finishes
    response = post(auth_client, "/api/orders", order_body(address))

    # then its change is rolled back and the key is left to the new holder
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_in_use"
    assert Order.objects.count() == 0
    assert stock_left() == 10
    assert IdempotencyKey.objects.get().response_status is None


# --- what is stored and what is not ------------------------------------------------------------


def test_a_raised_4xx_is_rolled_back_stored_and_replayed(auth_client, stock, address):
    first = post(auth_client, "/api/orders", order_body(address, 11))
    assert first.status_code == 409
    assert first.json()["error"] == "out_of_stock"

    # Stock arrives, but the key's answer is final: send a new key for a new attempt.
    Product.objects.filter(sku="POSTER").update(stock_quantity=50)
    again = post(auth_client, "/api/orders", order_body(address, 11))
    fresh = post(auth_client, "/api/orders", order_body(address, 11), key="order-2")

    assert again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert fresh.status_code == 201
    assert Order.objects.count() == 1


@pytest.mark.undocumented_errors
def test_a_5xx_is_not_stored_and_the_retry_runs(auth_client, stock, address, monkeypatch):
    from orders import api as orders_api

    real_place = orders_api.order_place
    monkeypatch.setattr(orders_api, "order_place", lambda **kwargs: 1 / 0)
    failed = post(auth_client, "/api/orders", order_body(address))
    assert failed.status_code == 500
    assert failed.json()["error"] == "internal_error"
    assert not IdempotencyKey.objects.exists()

    monkeypatch.setattr(orders_api, "order_place", real_place)
    retried = post(auth_client, "/api/orders", order_body(address))

    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Order.objects.count() == 1


def render_request(user):
    shop = ShopFactory(owner=user, daily_quota=1)
    session = confirmed_session(shop)
    product = product_upload(user, product_png())
    return shop, {
        "shop_id": str(shop.pk),
        "room_session_id": str(session.pk),
        "product_image_id": str(product.pk),
        "placement": {"x": 0.5, "y": 0.5, "scale": 0.5},
    }


def test_a_429_is_not_stored_so_the_retry_runs_once_the_quota_allows(auth_client, user):
    # given a shop whose daily quota is used up by another render
    shop, body = render_request(user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert post(auth_client, "/api/renders", body, key="other").status_code == 202

    refused = post(auth_client, "/api/renders", body)
    assert refused.status_code == 429
    assert refused.json()["error"] == "quota_exceeded"
    assert not IdempotencyKey.objects.filter(key=KEY).exists()

    # when staff raise the quota and the client retries with the same key
    shop.daily_quota = 2
    shop.save()
    with TestCase.captureOnCommitCallbacks(execute=True):
        retried = post(auth_client, "/api/renders", body)

    # then it runs
    assert retried.status_code == 202, retried.json()
    assert "Idempotent-Replayed" not in retried
    assert RenderJob.objects.filter(shop=shop).count() == 2


# --- the key itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "clé-1", "tab\there", "nul\x00", "line\nbreak", "emoji-🙂"],
    ids=["empty", "256 chars", "non-ascii", "tab", "nul", "newline", "emoji"],
)
def test_a_malformed_key_is_400_and_nothing_runs(auth_client, stock, address, key):
    response = post(auth_client, "/api/orders", order_body(address), key=key)

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "Idempotency-Key" in response.json()["details"]
    assert Order.objects.count() == 0
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["k" * 255, "a", " spaced key ~!", '"quoted"'])
def test_printable_ascii_keys_up_to_255_characters_are_accepted(auth_client, stock, address, key):
    first = post(auth_client, "/api/orders", order_body(address), key=key)
    again = post(auth_client, "/api/orders", order_body(address), key=key)

    assert (first.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert IdempotencyKey.objects.get().key == key


# --- scope: caller, method, path ----------------------------------------------------------------


def test_another_user_with_the_same_key_runs_separately(auth_client, make_user, stock, address):
    other = make_user()
    other_address = AddressFactory(user=other, is_default=True)

    mine = post(auth_client, "/api/orders", order_body(address))
    theirs = post(client_for(other), "/api/orders", order_body(other_address))

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert Order.objects.count() == 2
    assert IdempotencyKey.objects.count() == 2


def test_the_same_key_on_another_path_runs_separately(auth_client, stock, address):
    order = post(auth_client, "/api/orders", order_body(address))
    cancel = post(auth_client, f"/api/orders/{order.json()['id']}/cancel")

    assert (order.status_code, cancel.status_code) == (201, 200)
    assert cancel.json()["status"] == "cancelled"
    assert IdempotencyKey.objects.count() == 2


def test_anonymous_callers_are_scoped_by_session_id_then_by_ip(api_client):
    first = post(api_client, "/api/quotes", quote_body(), HTTP_X_SESSION_ID=SESSION)
    replay = post(api_client, "/api/quotes", quote_body(), HTTP_X_SESSION_ID=SESSION)
    other = post(api_client, "/api/quotes", quote_body(), HTTP_X_SESSION_ID=OTHER_SESSION)
    by_ip = post(
        api_client, "/api/quotes", quote_body(session_id=SESSION), REMOTE_ADDR="203.0.113.9"
    )

    assert [r.status_code for r in (first, replay, other, by_ip)] == [201, 201, 201, 201]
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in other
    assert "Idempotent-Replayed" not in by_ip
    assert Quote.objects.count() == 3
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {
        f"session:{SESSION}",
        f"session:{OTHER_SESSION}",
        "ip:203.0.113.9",
    }


def test_an_absurd_session_id_is_hashed_into_the_scope(rf):
    request = rf.post("/api/quotes", HTTP_X_SESSION_ID="s" * 500)
    request.user = None

    scope = caller_scope(request)

    assert scope.startswith("sha256:")
    assert len(scope) <= IdempotencyKey._meta.get_field("scope").max_length


# --- secrets: login and password change ------------------------------------------------------


def test_login_accepts_a_key_but_never_stores_its_token(api_client, user):
    body = {"email": user.email, "password": TEST_PASSWORD}

    first = post(api_client, "/api/users/login", body)
    second = post(api_client, "/api/users/login", body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["token"] != second.json()["token"]
    assert "Idempotent-Replayed" not in second
    assert not IdempotencyKey.objects.exists()
    assert AuthSession.objects.filter(user=user).count() == 2
    assert post(api_client, "/api/users/login", body, key="k" * 256).status_code == 400


def test_a_password_change_answer_is_never_stored(auth_client):
    body = {"current_password": TEST_PASSWORD, "new_password": "another-long-passphrase-77"}

    changed = post(auth_client, "/api/users/password", body)

    assert changed.status_code == 200
    assert changed.json()["token"]
    assert not IdempotencyKey.objects.exists()


def test_register_stores_an_hmac_of_the_body_never_the_password(api_client, settings):
    body = {"email": "new@example.com", "password": "a-long-and-unusual-passphrase-91"}

    first = post(api_client, "/api/users/register", body)
    again = post(api_client, "/api/users/register", body)

    assert first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    record = IdempotencyKey.objects.get()
    assert body["password"] not in record.response_body
    assert len(record.fingerprint) == 64
    # Rotating SECRET_KEY (the old one in the fallbacks) keeps retries working.
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-" + "r" * 50
    assert post(api_client, "/api/users/register", body)["Idempotent-Replayed"] == "true"


# --- uploads -----------------------------------------------------------------------------------


def post_upload(client, data: bytes, key: str = KEY, name: str = "photo.png"):
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    return client.post(
        "/api/uploads", {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY=key
    )


def stored_objects(settings) -> list:
    root = settings.MEDIA_ROOT / "uploads"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_a_retried_upload_is_one_row_and_one_object(auth_client, settings):
    data = png_bytes(20, 10)

    first = post_upload(auth_client, data)
    again = post_upload(auth_client, data)  # a new multipart boundary, the same file
    other_bytes = post_upload(auth_client, jpeg_bytes())

    assert first.status_code == 201, first.json()
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert other_bytes.status_code == 422
    assert UploadedFile.objects.count() == 1
    assert len(stored_objects(settings)) == 1


def test_an_upload_whose_transaction_rolls_back_leaves_no_object(
    auth_client, settings, monkeypatch
):
    # given an upload that loses its key while running: its transaction rolls back
    from uploads import api as uploads_api

    real_create = uploads_api.upload_create

    def create_then_lose_the_lease(**kwargs):
        upload = real_create(**kwargs)
        assert len(stored_objects(settings)) == 1
        IdempotencyKey.objects.update(lease=uuid.uuid4())
        return upload

    monkeypatch.setattr(uploads_api, "upload_create", create_then_lose_the_lease)

    response = post_upload(auth_client, png_bytes())

    # then neither the row nor the object is left
    assert response.status_code == 409
    assert not UploadedFile.objects.exists()
    assert stored_objects(settings) == []


# --- retention, schema, admin ---------------------------------------------------------------


def test_keys_are_cleaned_up_after_the_ttl_and_then_run_anew(auth_client, stock, address):
    post(auth_client, "/api/orders", order_body(address))
    post(auth_client, "/api/orders", order_body(address), key="young")
    IdempotencyKey.objects.filter(key=KEY).update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )

    assert cleanup_run(name="idempotency_keys") == {"idempotency_keys_deleted": 1}
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    assert "Idempotent-Replayed" not in post(auth_client, "/api/orders", order_body(address))
    assert Order.objects.count() == 3


def test_the_schema_declares_the_header_on_every_decorated_post(api_client):
    schema = api_client.get("/api/schema/?format=json").json()

    def header_of(path: str, method: str):
        parameters = schema["paths"][path][method].get("parameters", [])
        return next((p for p in parameters if p["name"] == "Idempotency-Key"), None)

    for path in ("/api/orders", "/api/uploads", "/api/renders", "/api/quote-runs"):
        declared = header_of(path, "post")
        assert declared is not None, path
        assert declared["in"] == "header"
        assert not declared.get("required", False)
    assert header_of("/api/orders", "get") is None
    assert "never stored" in header_of("/api/users/login", "post")["description"]
    assert "idempotency_key_in_use" in header_of("/api/orders", "post")["description"]


def test_staff_see_keys_read_only_in_the_admin(client, staff_user, auth_client, stock, address):
    post(auth_client, "/api/orders", order_body(address))
    record = IdempotencyKey.objects.get()
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)

    listing = client.get("/admin/config/idempotencykey/?state=completed&q=" + KEY)
    detail = client.get(f"/admin/config/idempotencykey/{record.pk}/change/")

    assert listing.status_code == 200
    assert KEY in listing.content.decode()
    assert detail.status_code == 200
    assert "total_cents" in detail.content.decode()
    assert client.get("/admin/config/idempotencykey/add/").status_code == 403
