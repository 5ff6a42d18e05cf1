import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kpis.services import rollups_rebuild_all
from rooftops.models import Rooftop


class Command(BaseCommand):
    help = "Rebuild the dashboards' rollups from the source tables (all history by default)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Only the last N local days (default: all).")
        parser.add_argument("--rooftop", action="append", default=[], help="Rooftop slug (repeatable; default all).")

    def handle(self, *args, days, rooftop, **options):
        rooftops = Rooftop.objects.order_by("id")
        if rooftop:
            rooftops = rooftops.filter(slug__in=rooftop)
            missing = set(rooftop) - set(rooftops.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"No rooftop with slug {', '.join(sorted(missing))}")
        now = timezone.now()
        for r in rooftops:
            started = time.monotonic()
            result = rollups_rebuild_all(rooftop=r, now=now, days=days)
            if result is None:
                self.stdout.write(f"{r.slug}: nothing to count yet")
                continue
            self.stdout.write(
                f"{r.slug}: {result.start}..{result.end}, {result.rows} rollup rows "
                f"in {time.monotonic() - started:.2f} s"
            )
