"""Load a rooftop's inventory feed from a file or a URL, now, in this process.

    manage.py inventory_feed --rooftop lakeside-toyota /srv/feeds/lakeside.csv
    manage.py inventory_feed --rooftop lakeside-toyota https://feeds.vendor.example/lakeside.csv [--complete]

The same load as the manager's page and the schedule (leads.inventory_feed), recorded as a run the page shows.
`--complete` says the file is the whole inventory even when it lists under half of what is listed now.
Exit status 1 when the feed was refused or failed; refused rows are printed with their line numbers.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leads.feed import FeedRefused
from leads.inventory_feed import display_url, feed_run_execute, feed_run_start
from leads.models import InventoryFeedRun
from rooftops.models import Rooftop


class Command(BaseCommand):
    help = "Load a rooftop's inventory from a CSV file or URL."

    def add_arguments(self, parser):
        parser.add_argument("--rooftop", required=True, help="the rooftop's slug")
        parser.add_argument("source", help="a CSV file, or an http(s) URL")
        parser.add_argument("--complete", action="store_true",
                            help="unlist what the feed leaves out even if it lists under half the current stock")

    def handle(self, *args, rooftop: str, source: str, complete: bool, **options):
        store = Rooftop.objects.filter(slug=rooftop).first()
        if store is None:
            raise CommandError(f"No rooftop with the slug {rooftop!r}.")
        is_url = source.lower().startswith(("http://", "https://"))
        try:
            if is_url:
                start = feed_run_start(rooftop=store, source=InventoryFeedRun.Source.COMMAND, url=source,
                                       allow_shrink=complete, queue=False)
            else:
                path = Path(source)
                if not path.is_file():
                    raise CommandError(f"{source} is not a file.")
                if path.stat().st_size > settings.INVENTORY_FEED_MAX_BYTES:
                    raise CommandError(f"{source} is larger than {settings.INVENTORY_FEED_MAX_BYTES:,} bytes.")
                start = feed_run_start(rooftop=store, source=InventoryFeedRun.Source.COMMAND, data=path.read_bytes(),
                                       source_name=path.name, allow_shrink=complete, queue=False)
        except FeedRefused as exc:
            raise CommandError(f"Refused: {exc.reason}") from None
        if not start.started:
            raise CommandError(f"A load is already running at {store.name} (run {start.run.id}); try again later.")
        run = feed_run_execute(run_id=start.run.id)
        if run is None:
            raise CommandError("Another process is on this run.")
        shown = display_url(source) if is_url else source
        if run.status == InventoryFeedRun.Status.FAILED:
            raise CommandError(f"{shown}: not loaded: {run.error}")
        self.stdout.write(
            f"{store.name}: {run.rows_total} rows from {shown}: {run.added} added, {run.updated} updated, "
            f"{run.unchanged} unchanged, {run.returned} back, {run.gone} gone, {run.kept_sold} kept sold, "
            f"{run.failed} refused (run {run.id})")
        if run.unlist_refused:
            self.stdout.write(f"Nothing unlisted: {run.unlist_refused}")
        for error in run.row_errors:
            self.stdout.write(f"  line {error['line']}: {error['reason']}")
