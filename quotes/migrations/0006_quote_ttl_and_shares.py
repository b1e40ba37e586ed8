"""Per-quote TTLs (credit schedules get max_quote_ttl_seconds) and share links of quotes."""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Greatest

# Frozen copy of quotes.models.DEFAULT_MAX_QUOTE_TTL_SECONDS (7 days) as of this migration.
MAX_QUOTE_TTL_SECONDS = 7 * 24 * 3600


def fill_max_ttl(apps, schema_editor):
    """Existing versions allow up to 7 days, or their own default TTL if that is longer,
    so every version satisfies max >= quote_ttl_seconds before the constraint is added."""
    CreditSchedule = apps.get_model("quotes", "CreditSchedule")
    CreditSchedule.objects.update(
        max_quote_ttl_seconds=Greatest(F("quote_ttl_seconds"), MAX_QUOTE_TTL_SECONDS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("quotes", "0005_quote_user_created_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditschedule",
            name="max_quote_ttl_seconds",
            field=models.PositiveIntegerField(
                default=MAX_QUOTE_TTL_SECONDS,
                help_text=(
                    "The longest ttl_seconds a caller may ask for (at least 60 and at least "
                    "quote_ttl_seconds)."
                ),
            ),
        ),
        migrations.RunPython(fill_max_ttl, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="creditschedule",
            constraint=models.CheckConstraint(
                condition=models.Q(("max_quote_ttl_seconds__gte", 60))
                & models.Q(("max_quote_ttl_seconds__gte", models.F("quote_ttl_seconds"))),
                name="credit_schedule_max_ttl",
            ),
        ),
        migrations.CreateModel(
            name="QuoteShare",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("expires_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "quote",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="shares",
                        to="quotes.quote",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(fields=["expires_at"], name="quote_share_expires_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("revoked_at__isnull", True)),
                        fields=("quote",),
                        name="quote_share_one_unrevoked",
                    ),
                ],
            },
        ),
    ]
