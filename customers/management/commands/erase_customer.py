"""manage.py erase_customer <customer_id> --reason "...": carry out a deletion request now, in this process."""

from django.core.management.base import BaseCommand, CommandError

from customers.erasure import ErasureRefused, erase_customer
from customers.models import Customer, ErasureRecord


class Command(BaseCommand):
    help = "Erase one customer's personal data everywhere (and suppress their addresses); prints what was removed."

    def add_arguments(self, parser):
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--reason", required=True, help="the request reference, e.g. 'CCPA request 2026-114'")

    def handle(self, *args, customer_id: int, reason: str, **options):
        customer = Customer.unscoped.filter(pk=customer_id).first()
        if customer is None:
            raise CommandError(f"No customer #{customer_id}.")
        if customer.merged_into_id:
            raise CommandError(f"Customer #{customer_id} was merged into #{customer.merged_into_id}: erase that one.")
        # Synchronous: no task is queued, so the record is created here and carried out at once.
        record = ErasureRecord.unscoped.create(
            dealer_group_id=customer.dealer_group_id, customer_id=customer.pk, source=ErasureRecord.Source.COMMAND,
            reason=reason[:500], requested_by_username="manage.py")
        try:
            record = erase_customer(record_id=record.pk)
        except ErasureRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Erasure record #{record.pk}: {record.get_status_display()}")
        for kind, rows in sorted(record.removed.items()):
            self.stdout.write(f"  {kind}: {rows}")
