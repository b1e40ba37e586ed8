"""`python manage.py ensure_admin`: create admin@example.com once, printing its password."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

ADMIN_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = "Create a staff superuser admin@example.com with a random password if none exists."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_staff=True, is_active=True).exists():
            self.stdout.write("A staff user exists; nothing to do.")
            return
        password = secrets.token_urlsafe(18)
        User.objects.create_superuser(email=ADMIN_EMAIL, password=password, name="Admin")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created staff user {ADMIN_EMAIL} with password: {password}\n"
                "It is shown only this once; change it in the admin."
            )
        )
