"""A quote without a session stores NULL, never "": one "no session" value, enforced."""

from django.db import migrations, models


def blank_to_null(apps, schema_editor):
    Quote = apps.get_model("quotes", "Quote")
    Quote.objects.filter(session_id="").update(session_id=None)


class Migration(migrations.Migration):
    dependencies = [("quotes", "0002_seed_credit_schedule")]

    operations = [
        migrations.RunPython(blank_to_null, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="quote",
            constraint=models.CheckConstraint(
                condition=models.Q(("session_id", ""), _negated=True),
                name="quote_session_not_blank",
            ),
        ),
    ]
