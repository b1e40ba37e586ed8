"""Rows the webhook tests emit events about (a render job holding a reserved slot)."""

import uuid

import factory
from django.utils import timezone

from rendering.models import RenderJob
from rendering.quota import quota_reserve
from tests.rendering.factories import RoomSessionFactory, ShopFactory


class RenderJobFactory(factory.django.DjangoModelFactory):
    """A queued job whose quota slot is reserved, as render_job_create leaves it."""

    class Meta:
        model = RenderJob
        skip_postgeneration_save = True

    shop = factory.SubFactory(ShopFactory)
    room_session = factory.LazyAttribute(lambda job: RoomSessionFactory(shop=job.shop))
    product_upload_id = factory.LazyFunction(uuid.uuid4)
    product_image_key = "uploads/x/product.png"
    room_image_key = "rooms/x/room.jpg"
    placement_x = 0.5
    placement_y = 0.5
    placement_scale = 0.2
    usage_date = factory.LazyFunction(lambda: timezone.now().date())

    @factory.post_generation
    def reserve(job, create, extracted, **kwargs):
        if create:
            quota_reserve(shop_id=job.shop_id, day=job.usage_date)
