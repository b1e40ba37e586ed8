"""Seed credit schedule version 1 (a frozen copy: later code changes never alter it)."""

from django.db import migrations

SEED_OPS = {
    "upscale": {"base_credits": 2, "credits_per_megapixel": 4},
    "remove_background": {"base_credits": 1, "credits_per_megapixel": 2},
    "enhance": {"base_credits": 1, "credits_per_megapixel": 3},
    "resize": {"base_credits": 0, "credits_per_megapixel": 0.5},
}


def seed(apps, schema_editor):
    CreditSchedule = apps.get_model("quotes", "CreditSchedule")
    if CreditSchedule.objects.exists():
        return
    CreditSchedule.objects.create(
        version=1, is_active=True, ops=SEED_OPS, max_files=20, quote_ttl_seconds=900
    )


def unseed(apps, schema_editor):
    apps.get_model("quotes", "CreditSchedule").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("quotes", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
