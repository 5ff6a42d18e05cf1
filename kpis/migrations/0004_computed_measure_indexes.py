"""Indexes on leads for the dashboard measures computed over base tables rather than rollups.

Like 0002 they live here so the leads app's migration history stays its own. Without them, service-to-sales
read every lead of the period at each store to find the sold ones (about 50 ms per store and period on a
year of a ten-store group), and each equity-mining measure read every lead of the period to find the few
from equity mining.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0003_equity_mining_source"),
        ("leads", "0001_initial"),
    ]

    operations = [
        # Service to sales: the sales of the period at each store, with the customer for the repair-order probe.
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS kpis_lead_rooftop_sold ON leads_lead (rooftop_id, sold_at) "
            "INCLUDE (customer_id) WHERE status = 'sold'",
            "DROP INDEX IF EXISTS kpis_lead_rooftop_sold",
        ),
        # Equity-mining leads made, worked, reaching an appointment, sold: a small slice of all leads.
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS kpis_lead_rooftop_equity ON leads_lead (rooftop_id, created_at) "
            "INCLUDE (status) WHERE source = 'equity_mining'",
            "DROP INDEX IF EXISTS kpis_lead_rooftop_equity",
        ),
    ]
