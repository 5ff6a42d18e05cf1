from datetime import timedelta

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from rooftops.models import TokenScope
from rooftops.services import api_token_create


class Command(BaseCommand):
    help = "Make a personal API token for a user and print its key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Made by an admin")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ_WRITE,
                            help="read: GET only; read_write: everything the user may do (default)")
        parser.add_argument("--days", type=int, default=90, help="lifetime in days (default 90; 0: never expires)")

    def handle(self, *args, username: str, name: str, scope: str, days: int, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if days < 0:
            raise CommandError("--days must be 0 (never expires) or more.")
        token, key = api_token_create(
            user=user, name=name, scope=scope, lifetime=timedelta(days=days) if days else None
        )
        expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
        self.stderr.write(f"{token.get_scope_display()}, {expiry}.")
        self.stdout.write(f"API token for {username}: {key}")
