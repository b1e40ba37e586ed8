"""`python manage.py upload_orphans [--older-than-h H] [--delete]`: objects without a row."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from uploads.services import upload_orphans_sweep

DEFAULT_MIN_AGE_H = 24


class Command(BaseCommand):
    help = (
        "Count objects under uploads/ that no upload row references (left by a process "
        "killed between the write and the commit); --delete removes them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-h",
            type=int,
            default=DEFAULT_MIN_AGE_H,
            help=f"only objects older than this many hours (default {DEFAULT_MIN_AGE_H})",
        )
        parser.add_argument("--delete", action="store_true", help="delete them (default: count)")

    def handle(self, *args, older_than_h: int, delete: bool, **options):
        if older_than_h < 1:
            raise CommandError(
                "--older-than-h must be at least 1: younger objects may be in flight"
            )
        counts = upload_orphans_sweep(older_than=timedelta(hours=older_than_h), delete=delete)
        self.stdout.write(", ".join(f"{key}={value}" for key, value in counts.items()))
