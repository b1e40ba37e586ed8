from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _credit_schedule_ensure_after_migrate(sender, apps=None, **kwargs) -> None:
    """migrate and flush (tests flush after each transactional test) end here: the
    database always leaves them with an active credit schedule."""
    if apps is not None:  # migrate passes the migrated state; flush keeps every table
        try:
            apps.get_model("quotes", "CreditSchedule")
        except LookupError:  # quotes migrated back to zero: no table to seed
            return
    from quotes.services import credit_schedule_ensure_default

    credit_schedule_ensure_default()


class QuotesConfig(AppConfig):
    name = "quotes"
    verbose_name = "Quotes"

    def ready(self) -> None:
        post_migrate.connect(_credit_schedule_ensure_after_migrate, sender=self)
