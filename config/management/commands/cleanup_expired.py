"""`python manage.py cleanup_expired [name ...]`: run registered cleanups now (cron-friendly)."""

from django.core.management.base import BaseCommand, CommandError

from config.cleanup import cleanup_names, cleanup_run


class Command(BaseCommand):
    help = "Run every registered cleanup (or the named ones) and print what each removed."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help=f"default: all of {cleanup_names()}")

    def handle(self, *args, names, **options):
        unknown = set(names) - set(cleanup_names())
        if unknown:
            raise CommandError(f"unknown cleanup(s): {', '.join(sorted(unknown))}")
        for name in names or cleanup_names():
            counts = cleanup_run(name=name)
            if counts is None:
                self.stdout.write(f"{name}: skipped (running elsewhere)")
            else:
                summary = ", ".join(f"{key}={value}" for key, value in counts.items()) or "nothing"
                self.stdout.write(f"{name}: {summary}")
