"""Sales by rooftop × local day of the sale (kpis.models.SaleDay): service to sales becomes a rollup figure.

It used to be counted at request time over the period's sold leads and their repair orders (~95 ms for a
year of a ten-store group). Filled here for all history, day rows in each store's time zone and their month
rows, with the same rule as kpis.services.SALE_DAY_SQL; rebuilds keep it from then on.
"""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


FILL_DAYS = """
INSERT INTO kpis_sale_day (rooftop_id, day, is_month, sales, service_to_sales)
SELECT l.rooftop_id, (l.sold_at AT TIME ZONE r.time_zone)::date, false, count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM service_repairorder ro
           WHERE ro.rooftop_id = l.rooftop_id AND ro.customer_id = l.customer_id
             AND ro.opened_at < l.sold_at AND ro.opened_at >= l.sold_at - interval '365 days'))
FROM leads_lead l
JOIN rooftops_rooftop r ON r.id = l.rooftop_id
WHERE l.status = 'sold' AND l.sold_at IS NOT NULL
GROUP BY 1, 2
"""
FILL_MONTHS = """
INSERT INTO kpis_sale_day (rooftop_id, day, is_month, sales, service_to_sales)
SELECT rooftop_id, date_trunc('month', day)::date, true, sum(sales), sum(service_to_sales)
FROM kpis_sale_day WHERE NOT is_month
GROUP BY 1, 2
"""


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0006_alert_kind_grain'),
        ('leads', '0001_initial'),
        ('service', '0001_initial'),
        ('rooftops', '0011_rooftop_service_hours'),
    ]

    operations = [
        migrations.CreateModel(
            name='SaleDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('is_month', models.BooleanField(db_default=False, default=False)),
                ('sales', models.IntegerField(default=0)),
                ('service_to_sales', models.IntegerField(default=0)),
                ('rooftop', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='rooftops.rooftop')),
            ],
            options={
                'db_table': 'kpis_sale_day',
                'abstract': False,
                'base_manager_name': 'unscoped',
                'default_manager_name': 'unscoped',
                'indexes': [models.Index(fields=['rooftop', 'day'], name='sale_day_rt_day')],
                'constraints': [models.UniqueConstraint(fields=('rooftop', 'day', 'is_month'), name='sale_day_once', nulls_distinct=False)],
            },
            managers=[
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        migrations.RunSQL(FILL_DAYS, migrations.RunSQL.noop),
        migrations.RunSQL(FILL_MONTHS, migrations.RunSQL.noop),
        migrations.RunSQL("ANALYZE kpis_sale_day", migrations.RunSQL.noop),
    ]
