from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from rooftops.services import api_token_create


class Command(BaseCommand):
    help = "Make a personal API token for a user and print its key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Made by an admin")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        _, key = api_token_create(user=user, name=name)
        self.stdout.write(f"API token for {username}: {key}")
