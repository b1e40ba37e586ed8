"""The schema proves itself: a Python client generated from the live /api/schema/ by
openapi-python-client drives a real server through the main flows, and parses every answer,
errors included, into its own types."""

import importlib
import io
import subprocess
import sys
import uuid

import httpx
import pytest
from PIL import Image

from tests.orders.factories import ProductFactory
from tests.rendering.factories import product_png

PACKAGE = "atelier_client"
# Stored bytes are documented with their real media type ranges (image/*, */*), which the
# generator reads as bytes only when told to.
GENERATOR_CONFIG = f"""\
post_hooks: []
package_name_override: {PACKAGE}
content_type_overrides:
  "image/*": application/octet-stream
  "*/*": application/octet-stream
"""
PASSWORD = "generated-client-horse-42"


@pytest.fixture
def client_server(cluster):
    server = cluster.add_server()
    cluster.wait_ready()
    return server


@pytest.fixture
def generated(client_server, tmp_path):
    """The client package, generated from the server's own schema into tmp_path."""
    schema = httpx.get(f"{client_server.url}/api/schema/?format=json", timeout=30)
    assert schema.status_code == 200, schema.text
    (tmp_path / "schema.json").write_bytes(schema.content)
    (tmp_path / "config.yaml").write_text(GENERATOR_CONFIG)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--config",
            str(tmp_path / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


def _ok(response, status: int, model):
    """The answer had `status` and the client parsed it into `model`."""
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, model), (type(response.parsed), response.content)
    return response.parsed


def _error(response, status: int, code: str):
    """The answer was the documented error: parsed into the client's Error, with `code`."""
    error_model = _module("models").Error
    parsed = _ok(response, status, error_model)
    assert parsed.error == code, response.content
    assert parsed.message
    return parsed


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (0, 0, 255)).save(out, format="JPEG")
    return out.getvalue()


def test_a_generated_client_drives_every_main_flow(generated, client_server):
    api = lambda name: _module(f"api.{name}")  # noqa: E731
    models = _module("models")
    types = _module("types")
    base = client_server.url
    anonymous = generated.Client(base_url=base, raise_on_unexpected_status=True)

    # accounts: register, wrong password, login
    email = "generated-client@example.com"
    register = api("accounts.users_register_create").sync_detailed(
        client=anonymous,
        body=models.UserRegisterInputRequest(email=email, password=PASSWORD, name="Gen"),
    )
    _ok(register, 201, models.UserRegisterOutput)
    wrong = api("accounts.users_login_create").sync_detailed(
        client=anonymous,
        body=models.UserLoginInputRequest(email=email, password="wrong-" + PASSWORD),
    )
    _error(wrong, 401, "invalid_credentials")
    login = api("accounts.users_login_create").sync_detailed(
        client=anonymous, body=models.UserLoginInputRequest(email=email, password=PASSWORD)
    )
    token = _ok(login, 200, models.LoginOutput).token
    client = generated.AuthenticatedClient(
        base_url=base, token=token, raise_on_unexpected_status=True
    )
    me = _ok(
        api("accounts.users_me_retrieve").sync_detailed(client=client), 200, models.UserMeOutput
    )
    assert me.email == email

    # quotes: create, use, a second use is a 409, an unknown one a 404
    job = models.QuoteInputRequest(
        files=[
            models.JobFileRequest(id="f1", name="a.jpg", size_bytes=1000, width=800, height=600)
        ],
        ops=models.QuoteInputRequestOps.from_dict({"upscale": True}),
    )
    bad_job = api("quotes.quotes_create").sync_detailed(
        client=client,
        body=models.QuoteInputRequest(
            files=job.files, ops=models.QuoteInputRequestOps.from_dict({})
        ),
    )
    assert "ops" in _error(bad_job, 400, "validation_error").details
    quote = _ok(
        api("quotes.quotes_create").sync_detailed(client=client, body=job, idempotency_key="q-1"),
        201,
        models.QuoteOutput,
    )
    share = _ok(
        api("quotes.quotes_share_create").sync_detailed(quote.id, client=client),
        201,
        models.QuoteShareOutput,
    )
    shared = api("quotes.shared_quotes_retrieve").sync_detailed(share.token, client=anonymous)
    assert _ok(shared, 200, models.SharedQuoteOutput).id == quote.id
    used = api("quotes.quotes_use_create").sync_detailed(quote.id, client=client)
    assert _ok(used, 200, models.QuoteOutput).status == "used"
    _error(
        api("quotes.quotes_use_create").sync_detailed(quote.id, client=client), 409, "quote_used"
    )
    unknown = api("quotes.quotes_retrieve").sync_detailed(uuid.UUID(int=1), client=client)
    _error(unknown, 404, "not_found")

    # quote runs
    run = _ok(
        api("quote_runs.quote_runs_create").sync_detailed(
            client=client,
            body=models.QuoteRunCreateInputRequest(
                files=job.files,
                ops=models.QuoteRunCreateInputRequestOps.from_dict({"upscale": True}),
            ),
        ),
        202,
        models.QuoteRunCreateOutput,
    )
    _ok(
        api("quote_runs.quote_runs_retrieve").sync_detailed(run.run_id, client=client),
        200,
        models.QuoteRunDetailOutput,
    )

    # uploads: an image, and bytes that are no image (415)
    upload = _ok(
        api("uploads.uploads_create").sync_detailed(
            client=client,
            body=models.UploadCreateInputRequest(
                file=types.File(
                    payload=io.BytesIO(product_png()), file_name="p.png", mime_type="image/png"
                )
            ),
        ),
        201,
        models.UploadOutput,
    )
    stored = _ok(
        api("uploads.files_retrieve").sync_detailed(upload.id, client=client), 200, types.File
    )
    assert stored.payload.read() == product_png()
    not_image = api("uploads.uploads_create").sync_detailed(
        client=client,
        body=models.UploadCreateInputRequest(
            file=types.File(payload=io.BytesIO(b"plain text"), file_name="a.png")
        ),
    )
    _error(not_image, 415, "unsupported_media_type")

    # rendering: shop, room session (signed PUT of the photo), confirm, render
    shop = _ok(
        api("rendering.shops_create").sync_detailed(
            client=client, body=models.ShopCreateInputRequest(name="Generated shop")
        ),
        201,
        models.ShopOutput,
    )
    room = _ok(
        api("rendering.shops_room_sessions_create").sync_detailed(shop.id, client=client),
        201,
        models.RoomSessionCreateOutput,
    )
    _error(
        api("rendering.room_sessions_confirm_create").sync_detailed(room.id, client=client),
        409,
        "image_missing",
    )
    put = httpx.request(
        room.upload.method,
        httpx.URL(base).join(room.upload.url),
        content=_jpeg(),
        headers=room.upload.headers.to_dict(),
        timeout=30,
    )
    assert put.status_code == 200, put.text
    _ok(
        api("rendering.room_sessions_confirm_create").sync_detailed(room.id, client=client),
        200,
        models.RoomSessionOutput,
    )
    render = _ok(
        api("rendering.renders_create").sync_detailed(
            client=client,
            body=models.RenderCreateInputRequest(
                shop_id=shop.id,
                room_session_id=room.id,
                product_image_id=upload.id,
                placement=models.RenderCreatePlacementRequest(x=0.5, y=0.5, scale=0.5),
            ),
        ),
        202,
        models.RenderCreateOutput,
    )
    _ok(
        api("rendering.renders_retrieve").sync_detailed(render.id, client=client),
        200,
        models.RenderOutput,
    )
    renders = _ok(
        api("rendering.renders_list").sync_detailed(client=client),
        200,
        models.PaginatedRenderOutputList,
    )
    assert [item.id for item in renders.results] == [render.id]
    _ok(
        api("rendering.shops_usage_retrieve").sync_detailed(shop.id, client=client),
        200,
        models.ShopUsageOutput,
    )

    # orders: address, products, place, cancel, cancel again (409)
    product = ProductFactory(stock_quantity=5)
    address = _ok(
        api("accounts.addresses_create").sync_detailed(
            client=client,
            body=models.AddressInputRequest(
                line1="1 Rue X", city="Paris", postal_code="75001", country="FR"
            ),
        ),
        201,
        models.AddressOutput,
    )
    products = _ok(
        api("orders.products_list").sync_detailed(client=client),
        200,
        models.PaginatedProductListOutputList,
    )
    assert product.sku in {item.sku for item in products.results}
    short = api("orders.orders_create").sync_detailed(
        client=client,
        body=models.OrderPlaceInputRequest(
            items=[models.OrderPlaceLineRequest(sku=product.sku, quantity=50)],
            address_id=address.id,
        ),
    )
    _error(short, 409, "out_of_stock")
    order = _ok(
        api("orders.orders_create").sync_detailed(
            client=client,
            body=models.OrderPlaceInputRequest(
                items=[models.OrderPlaceLineRequest(sku=product.sku, quantity=2)],
                address_id=address.id,
            ),
        ),
        201,
        models.OrderOutput,
    )
    cancelled = api("orders.orders_cancel_create").sync_detailed(order.id, client=client)
    assert _ok(cancelled, 200, models.OrderOutput).status == "cancelled"
    again = api("orders.orders_cancel_create").sync_detailed(order.id, client=client)
    assert _error(again, 409, "order_not_cancellable").details == {"status": "cancelled"}
    _ok(
        api("orders.orders_list").sync_detailed(client=client),
        200,
        models.PaginatedOrderOutputList,
    )

    # the token ends: every call with it is a documented 401
    _ok(api("accounts.users_logout_create").sync_detailed(client=client), 204, type(None))
    _error(api("accounts.users_me_retrieve").sync_detailed(client=client), 401, "invalid_token")
