"""The migration that adds max_quote_ttl_seconds fills it for existing schedule versions."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("quotes", "0005_quote_user_created_index")]
AFTER = [("quotes", "0006_quote_ttl_and_shares")]
SEVEN_DAYS_S = 7 * 24 * 3600


def migrate_to(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_existing_versions_get_seven_days_or_their_own_longer_ttl():
    # given: the schema before the migration, with two versions
    old_apps = migrate_to(BEFORE)
    schedule = old_apps.get_model("quotes", "CreditSchedule")
    schedule.objects.all().delete()
    schedule.objects.create(version=1, ops={}, max_files=5, quote_ttl_seconds=900)
    schedule.objects.create(
        version=2, is_active=True, ops={}, max_files=5, quote_ttl_seconds=10 * 24 * 3600
    )

    try:
        # when
        new_apps = migrate_to(AFTER)

        # then: every version allows its own default TTL, and at least 7 days
        migrated = new_apps.get_model("quotes", "CreditSchedule")
        maxima = dict(migrated.objects.values_list("version", "max_quote_ttl_seconds"))
        assert maxima == {1: SEVEN_DAYS_S, 2: 10 * 24 * 3600}
    finally:
        migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
