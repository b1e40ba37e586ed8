"""One example per schema component (by its name in the OpenAPI document, without the
"Request" suffix): config.openapi.AutoSchema shows it on every request body and success
answer of that component that has no example of its own."""

from typing import Any

_NOW = "2026-01-01T12:00:00Z"
_LATER = "2026-01-01T12:15:00Z"
_USER = {"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "email": "ada@example.com", "name": "Ada"}
_FILES = [{"id": "f1", "name": "room.jpg", "size_bytes": 482133, "width": 1920, "height": 1080}]
_OPS = {"upscale": True, "resize": {"width": 800}}
_ADDRESS = {
    "label": "Home",
    "line1": "12 Rue de la Paix",
    "line2": "",
    "city": "Paris",
    "postal_code": "75002",
    "country": "FR",
    "is_default": True,
}
_ORDER_ITEM = {
    "sku": "MUG-01",
    "name": "Mug",
    "unit_price_cents": 1200,
    "quantity": 2,
    "line_total_cents": 2400,
}
_WEBHOOK = {
    "id": "1f0a7a52-2d1c-4c37-9d0b-5f2e3d9b8a10",
    "url": "https://shop.example.com/hooks/atelier",
    "events": ["render.completed", "order.status_changed"],
    "description": "Storefront",
    "created_at": _NOW,
    "is_active": True,
    "disabled_reason": None,
}
_QUOTE = {
    "id": "3c6f1a2b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
    "session_id": "sess_4f1d2c3b5a6e7f80",
    "user_id": None,
    "files": _FILES,
    "ops": _OPS,
    "credits_total": 6,
    "per_file_credits": {"f1": 6},
    "per_file": [{"file_id": "f1", "credits": 6}],
    "schedule": {"version": 3},
    "created_at": _NOW,
    "expires_at": _LATER,
    "used_at": None,
    "status": "active",
}
_TRACKING_EVENT = {
    "id": 1,
    "status": "in_transit",
    "location": "Lyon hub",
    "note": "",
    "occurred_at": _NOW,
    "created_at": _NOW,
}

_SHOP_USAGE_TODAY = {
    "date": "2026-01-01",
    "daily_quota": 100,
    "used": {"render": 12, "prep": 3, "cleanup": 1},
    "reserved": 2,
    "remaining": 82,
    "resets_at": "2026-01-01T23:00:00Z",
}

EXAMPLES: dict[str, Any] = {
    # accounts
    "UserRegisterInput": {
        "email": "ada@example.com",
        "password": "correct-horse-42",
        "name": "Ada",
    },
    "UserRegisterOutput": _USER,
    "UserLoginInput": {"email": "ada@example.com", "password": "correct-horse-42"},
    "LoginOutput": {"token": "atl_3q2+7w…", "expires_at": "2026-01-08T12:00:00Z", "user": _USER},
    "UserMeOutput": {**_USER, "is_staff": False},
    "UserPasswordChangeInput": {
        "current_password": "correct-horse-42",
        "new_password": "battery-staple-43",
    },
    "AuthSessionListOutput": {
        "id": "0b8d5f0e-3f6e-4d1a-a7e2-54a0f3d2c1b9",
        "token_prefix": "atl_3q2",
        "created_at": _NOW,
        "expires_at": "2026-01-08T12:00:00Z",
        "last_seen_at": _LATER,
        "user_agent": "curl/8.5.0",
        "ip_address": "203.0.113.7",
        "current": True,
    },
    "AddressInput": _ADDRESS,
    "PatchedAddressInput": {"label": "Office", "is_default": False},
    "AddressOutput": {"id": "5b1f4c8e-9a7d-4e2b-8c3f-1d6e0a9b7c21", **_ADDRESS, "created_at": _NOW},
    "NotificationOutput": {
        "id": "9f3c2b1a-0e4d-4c5b-8a7f-6e5d4c3b2a19",
        "kind": "order_status",
        "title": "Your order shipped",
        "body": "Order 3fa85f64 is on its way.",
        "data": {"order_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
        "created_at": _NOW,
        "read_at": None,
    },
    "NotificationReadAllOutput": {"marked_read": 3},
    "WebhookListCreateInput": {
        "url": "https://shop.example.com/hooks/atelier",
        "events": ["render.completed", "order.status_changed"],
        "description": "Storefront",
    },
    "WebhookOutput": _WEBHOOK,
    "WebhookListCreateCreated": {**_WEBHOOK, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "WebhookDeliveryListOutput": {
        "id": 41,
        "event_id": "msg_2b7c9f0e",
        "type": "render.completed",
        "status": "delivered",
        "attempts": 1,
        "last_status_code": 200,
        "next_attempt_at": None,
    },
    # quotes
    "CreditScheduleGetOutput": {
        "version": 3,
        "ops": {"upscale": {"base_credits": 2}, "resize": {"base_credits": 1}},
        "max_files": 20,
        "quote_ttl_seconds": 900,
    },
    "QuoteInput": {
        "session_id": "sess_4f1d2c3b5a6e7f80",
        "files": _FILES,
        "ops": _OPS,
        "ttl_seconds": 900,
    },
    "QuoteBatchInput": {
        "session_id": "sess_4f1d2c3b5a6e7f80",
        "quotes": [
            {"files": _FILES, "ops": _OPS},
            {"files": _FILES, "ops": {"upscale": True}, "ttl_seconds": 3600},
        ],
    },
    "QuoteBatchCreateOutput": {"results": [_QUOTE]},
    "QuoteShareOutput": {
        "token": "shq_Jx2v9…",
        "share_url": "https://api.example.com/api/shared-quotes/shq_Jx2v9…",
        "expires_at": _LATER,
    },
    "SharedQuoteOutput": {
        key: value for key, value in _QUOTE.items() if key not in {"session_id", "user_id"}
    },
    "QuoteOutput": _QUOTE,
    "QuoteRunCreateInput": {
        "session_id": "sess_4f1d2c3b5a6e7f80",
        "files": _FILES,
        "ops": _OPS,
        "providers": ["acme", "globex"],
    },
    "QuoteRunCreateOutput": {
        "run_id": "e2a1b3c4-d5e6-4f70-8192-a3b4c5d6e7f8",
        "status": "processing",
        "stream_url": "/api/quote-runs/e2a1b3c4-d5e6-4f70-8192-a3b4c5d6e7f8/stream?token=…",
        "status_url": "/api/quote-runs/e2a1b3c4-d5e6-4f70-8192-a3b4c5d6e7f8",
    },
    "QuoteRunDetailOutput": {
        "run_id": "e2a1b3c4-d5e6-4f70-8192-a3b4c5d6e7f8",
        "status": "completed",
        "providers": ["acme", "globex"],
        "last_event_id": 7,
        "result": {"offers": [{"provider": "acme", "credits_total": 12, "eta_seconds": 30}]},
        "error": None,
        "created_at": _NOW,
        "expires_at": "2026-01-01T14:00:00Z",
        "finished_at": _LATER,
        "stream_url": "/api/quote-runs/e2a1b3c4-d5e6-4f70-8192-a3b4c5d6e7f8/stream?token=…",
    },
    # uploads
    "UploadOutput": {
        "id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "filename": "sofa.png",
        "content_type": "image/png",
        "size_bytes": 204800,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "width": 1024,
        "height": 768,
        "url": "/api/storage/uploads/a1/b2/a1b2c3d4.png?token=…",
        "file_url": "https://api.example.com/api/files/a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "created_at": _NOW,
    },
    # rendering
    "ShopCreateInput": {"name": "Maison Ada", "timezone": "Europe/Paris"},
    "ShopOutput": {
        "id": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
        "name": "Maison Ada",
        "daily_quota": 100,
        "timezone": "Europe/Paris",
        "created_at": _NOW,
    },
    # GET /api/shops/{id}/usage: ShopUsage is its answer (today, or a history), whose
    # example is today's, ShopUsageOutput.
    "ShopUsage": _SHOP_USAGE_TODAY,
    "ShopUsageOutput": _SHOP_USAGE_TODAY,
    "RoomSessionCreateOutput": {
        "id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "upload": {
            "method": "PUT",
            "url": "/api/storage/rooms/6a7b8c9d/original.jpg?token=…",
            "headers": {"Content-Type": "image/jpeg"},
            "key": "rooms/6a7b8c9d/original.jpg",
        },
    },
    "RoomSessionOutput": {
        "id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "shop_id": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
        "original_image_key": "rooms/6a7b8c9d/original.jpg",
        "original_image_url": "/api/storage/rooms/6a7b8c9d/original.jpg?token=…",
        "cleaned_image_key": None,
        "cleaned_image_url": None,
        "width": 1920,
        "height": 1080,
        "confirmed_at": _NOW,
    },
    "RoomSessionCleanedInput": {"upload_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
    "RenderCreateInput": {
        "shop_id": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
        "room_session_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "product_image_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "placement": {"x": 0.5, "y": 0.6, "scale": 0.8},
    },
    "RenderCreateOutput": {"id": "8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f", "status": "queued"},
    "RenderOutput": {
        "id": "8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f",
        "status": "completed",
        "result_image_url": "/api/storage/renders/8c9d0e1f.png?token=…",
        "error": None,
        "shop_id": "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
        "room_session_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "product_image_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "placement": {"x": 0.5, "y": 0.6, "scale": 0.8},
        "created_at": _NOW,
        "started_at": _NOW,
        "finished_at": _LATER,
    },
    # orders
    "ProductListOutput": {"sku": "MUG-01", "name": "Mug", "price_cents": 1200, "in_stock": True},
    "OrderPlaceInput": {
        "items": [{"sku": "MUG-01", "quantity": 2}],
        "address_id": "5b1f4c8e-9a7d-4e2b-8c3f-1d6e0a9b7c21",
    },
    "OrderOutput": {
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "status": "placed",
        "items": [_ORDER_ITEM],
        "total_cents": 2400,
        "shipping_address": _ADDRESS,
        "created_at": _NOW,
        "updated_at": _NOW,
    },
    "OrderTrackingOutput": {
        "carrier": "La Poste",
        "tracking_number": "6A12345678901",
        "status": "in_transit",
        "estimated_delivery": "2026-01-04",
        "events": [_TRACKING_EVENT],
        "updated_at": _NOW,
    },
    "TrackingEventCreateInput": {
        "status": "in_transit",
        "location": "Lyon hub",
        "note": "",
        "occurred_at": _NOW,
        "carrier": "La Poste",
        "tracking_number": "6A12345678901",
        "estimated_delivery": "2026-01-04",
    },
    "TrackingEventOutput": _TRACKING_EVENT,
    # health
    "Health": {"status": "ok", "database": "ok", "redis": "ok", "storage": "ok"},
    "Live": {"status": "ok"},
}
