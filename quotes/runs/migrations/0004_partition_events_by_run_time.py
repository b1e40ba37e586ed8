"""Events carry their run's created_at; on PostgreSQL the events table becomes a table
partitioned by it (quotes/runs/partitions.py), so retention drops partitions."""

from django.db import migrations, models

from quotes.runs.partitions import events_partition_table, events_unpartition_table


def partition(apps, schema_editor):
    events_partition_table(schema_editor)


def unpartition(apps, schema_editor):
    events_unpartition_table(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("quote_runs", "0003_job_lease"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="quoterun",
            index=models.Index(fields=["created_at", "expires_at"], name="quote_run_created_idx"),
        ),
        migrations.RemoveConstraint(model_name="quoterunevent", name="quote_run_event_seq_unique"),
        migrations.RemoveConstraint(model_name="quoterunevent", name="quote_run_event_key_unique"),
        migrations.AddField(
            model_name="quoterunevent",
            name="run_created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE quote_runs_quoterunevent SET run_created_at = ("
            "SELECT created_at FROM quote_runs_quoterun r WHERE r.id = run_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="quoterunevent",
            name="run_created_at",
            field=models.DateTimeField(),
        ),
        migrations.AddConstraint(
            model_name="quoterunevent",
            constraint=models.UniqueConstraint(
                fields=("run", "seq", "run_created_at"), name="quote_run_event_seq_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="quoterunevent",
            constraint=models.UniqueConstraint(
                fields=("run", "key", "run_created_at"), name="quote_run_event_key_unique"
            ),
        ),
        # The table Django built above, rebuilt partitioned with the same names.
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
