import importlib
import importlib.util
import json

from django.core.management.base import BaseCommand

from rooftops import demo
from rooftops.models import DealerGroup

# Apps add their part of the demo in `<app>/demo.py` with `seed(ctx)` (idempotent) and optional `keys(ctx)`.
DEMO_APPS = ["customers", "leads", "service", "tracking", "alerts", "kpis", "marketing"]


class Command(BaseCommand):
    help = "Build the demo dealer group (deterministic; running it again changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", action="store_true", help="Print logins, API tokens and rooftop keys as JSON.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any dealer group exists.")

    def handle(self, *args, seed: int, if_empty: bool, **options):
        as_json = options["json"]
        if if_empty and DealerGroup.objects.exclude(slug=demo.GROUP_SLUG).exists():
            return
        ctx = demo.seed_base(seed)
        for app in DEMO_APPS:
            if importlib.util.find_spec(f"{app}.demo") is None:
                continue
            module = importlib.import_module(f"{app}.demo")
            if hasattr(module, "seed"):
                module.seed(ctx)
            if hasattr(module, "keys"):
                for slug, values in module.keys(ctx).items():
                    ctx.keys.setdefault(slug, {}).update(values)
        info = demo.describe(ctx)
        if as_json:
            self.stdout.write(_json_dumps(info))
            return
        verb = "Created" if ctx.created else "Already present:"
        self.stdout.write(f"{verb} demo dealer group {ctx.group.name} ({len(ctx.rooftops)} rooftops).")
        self.stdout.write(f"Password for every demo login: {info['password']}")
        for login in info["logins"]:
            self.stdout.write(f"  {login['username']:<22} {login['name']:<16} {', '.join(login['roles'])}")


def _json_dumps(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
