"""`python manage.py webhook_secrets_reencrypt`: after rotating SECRET_KEY, re-encrypt the
webhook signing secrets under the new key (then the old one may leave the fallbacks)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.webhooks.services import webhook_secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every webhook signing secret under the current SECRET_KEY."

    def handle(self, *args, **options):
        counts = webhook_secrets_reencrypt()
        self.stdout.write(f"reencrypted={counts['reencrypted']} unreadable={counts['unreadable']}")
        if counts["unreadable"]:
            raise CommandError(
                "Some secrets are readable with no configured key: put the old SECRET_KEY "
                "back into SECRET_KEY_FALLBACKS, or have those webhooks registered anew."
            )
