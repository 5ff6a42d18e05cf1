"""Indexes on other apps' tables that only the dashboards' rollup refresh needs.

They live here, not in those apps' models, so the apps' migration histories stay theirs (no merge
migrations between branches) and dropping the kpis app drops them too. Without them, the five-minute
refresh of "today and yesterday" would scan the whole timeline and alert tables of every rooftop.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0001_initial"),
        ("customers", "0002_initial"),
        ("alerts", "0002_initial"),
        ("service", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS kpis_timeline_activity_rooftop_time ON customers_timelineentry "
            "(rooftop_id, occurred_at) WHERE kind IN ('call', 'text', 'email') AND actor_id IS NOT NULL",
            "DROP INDEX IF EXISTS kpis_timeline_activity_rooftop_time",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS kpis_alert_rooftop_created ON alerts_alert (rooftop_id, created_at)",
            "DROP INDEX IF EXISTS kpis_alert_rooftop_created",
        ),
        # Service retention finds the customers due (a repair order closed in the 12 months before the period).
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS kpis_repairorder_rooftop_closed ON service_repairorder (rooftop_id, closed_at) "
            "INCLUDE (customer_id) WHERE status = 'closed'",
            "DROP INDEX IF EXISTS kpis_repairorder_rooftop_closed",
        ),
        # ... and who came back (opened one in the period): both answered from the indexes alone.
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS kpis_repairorder_rooftop_opened ON service_repairorder (rooftop_id, opened_at) "
            "INCLUDE (customer_id)",
            "DROP INDEX IF EXISTS kpis_repairorder_rooftop_opened",
        ),
    ]
