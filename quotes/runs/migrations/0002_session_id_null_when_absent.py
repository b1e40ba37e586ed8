"""A run without a session stores NULL, not "" (as Quote does): one "no session" value."""

from django.db import migrations, models


def blank_to_null(apps, schema_editor):
    QuoteRun = apps.get_model("quote_runs", "QuoteRun")
    QuoteRun.objects.filter(session_id="").update(session_id=None)


def null_to_blank(apps, schema_editor):
    QuoteRun = apps.get_model("quote_runs", "QuoteRun")
    QuoteRun.objects.filter(session_id__isnull=True).update(session_id="")


class Migration(migrations.Migration):
    dependencies = [("quote_runs", "0001_initial")]

    operations = [
        migrations.RemoveConstraint(model_name="quoterun", name="quote_run_has_owner"),
        migrations.AlterField(
            model_name="quoterun",
            name="session_id",
            field=models.CharField(blank=True, max_length=128, null=True),
        ),
        migrations.RunPython(blank_to_null, null_to_blank),
        migrations.AddConstraint(
            model_name="quoterun",
            constraint=models.CheckConstraint(
                condition=models.Q(("user__isnull", False), ("session_id__isnull", False), _connector="OR"),
                name="quote_run_has_owner",
            ),
        ),
        migrations.AddConstraint(
            model_name="quoterun",
            constraint=models.CheckConstraint(
                condition=models.Q(("session_id", ""), _negated=True),
                name="quote_run_session_not_blank",
            ),
        ),
    ]
