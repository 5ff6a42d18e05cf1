"""Alerts by rooftop × day × kind: the grain the page's alert cards and by-kind table read (kpis.models).

Filled here from the full grain's rows (day and month rows alike: a kind's month row is the sum of its
month rows at the full grain), so the page has it at once; rebuilds keep it from then on.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


BUCKETS = 42
SUMS = ["raised", "claimed", "acted", "led_to_lead", "led_to_appointment", "led_to_sale",
        *(f"{prefix}_b{i:02d}" for prefix in ("claim", "act") for i in range(BUCKETS))]


def _merged(array: str) -> str:
    return (f"coalesce((SELECT array_agg(v ORDER BY v) FROM kpis_alert_day b "
            f"CROSS JOIN LATERAL unnest(b.{array}) AS v WHERE b.rooftop_id = s.rooftop_id AND b.day = s.day "
            "AND b.is_month = s.is_month AND b.kind = s.kind), '{}')")


def _cum(prefix: str) -> str:
    columns = [f"{prefix}_b{i:02d}" for i in range(BUCKETS)]
    return "ARRAY[" + ", ".join(["0", *(" + ".join(columns[: i + 1]) for i in range(BUCKETS))]) + "]"


FILL = (
    f"INSERT INTO kpis_alert_kind_day (rooftop_id, day, is_month, kind, {', '.join(SUMS)}, claim_seconds, act_seconds, "
    f"claim_cum, act_cum) "
    f"SELECT s.*, {_merged('claim_seconds')}, {_merged('act_seconds')}, "
    f"{_cum('s.claim')}, {_cum('s.act')} "
    f"FROM (SELECT rooftop_id, day, is_month, kind, {', '.join(f'sum({c}) AS {c}' for c in SUMS)} "
    f"FROM kpis_alert_day GROUP BY rooftop_id, day, is_month, kind) s"
)


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0005_alert_time_buckets'),
        ('rooftops', '0011_rooftop_service_hours'),
    ]

    operations = [
        migrations.CreateModel(
            name='AlertKindDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('is_month', models.BooleanField(db_default=False, default=False)),
                ('raised', models.IntegerField(default=0)),
                ('claimed', models.IntegerField(default=0)),
                ('acted', models.IntegerField(default=0)),
                ('claim_seconds', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), blank=True, default=list, size=None)),
                ('act_seconds', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), blank=True, default=list, size=None)),
                ('led_to_lead', models.IntegerField(default=0)),
                ('led_to_appointment', models.IntegerField(default=0)),
                ('led_to_sale', models.IntegerField(default=0)),
                ('claim_cum', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), blank=True, db_default=[], default=list, size=None)),
                ('act_cum', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), blank=True, db_default=[], default=list, size=None)),
                ('claim_b00', models.IntegerField(db_default=0, default=0)),
                ('claim_b01', models.IntegerField(db_default=0, default=0)),
                ('claim_b02', models.IntegerField(db_default=0, default=0)),
                ('claim_b03', models.IntegerField(db_default=0, default=0)),
                ('claim_b04', models.IntegerField(db_default=0, default=0)),
                ('claim_b05', models.IntegerField(db_default=0, default=0)),
                ('claim_b06', models.IntegerField(db_default=0, default=0)),
                ('claim_b07', models.IntegerField(db_default=0, default=0)),
                ('claim_b08', models.IntegerField(db_default=0, default=0)),
                ('claim_b09', models.IntegerField(db_default=0, default=0)),
                ('claim_b10', models.IntegerField(db_default=0, default=0)),
                ('claim_b11', models.IntegerField(db_default=0, default=0)),
                ('claim_b12', models.IntegerField(db_default=0, default=0)),
                ('claim_b13', models.IntegerField(db_default=0, default=0)),
                ('claim_b14', models.IntegerField(db_default=0, default=0)),
                ('claim_b15', models.IntegerField(db_default=0, default=0)),
                ('claim_b16', models.IntegerField(db_default=0, default=0)),
                ('claim_b17', models.IntegerField(db_default=0, default=0)),
                ('claim_b18', models.IntegerField(db_default=0, default=0)),
                ('claim_b19', models.IntegerField(db_default=0, default=0)),
                ('claim_b20', models.IntegerField(db_default=0, default=0)),
                ('claim_b21', models.IntegerField(db_default=0, default=0)),
                ('claim_b22', models.IntegerField(db_default=0, default=0)),
                ('claim_b23', models.IntegerField(db_default=0, default=0)),
                ('claim_b24', models.IntegerField(db_default=0, default=0)),
                ('claim_b25', models.IntegerField(db_default=0, default=0)),
                ('claim_b26', models.IntegerField(db_default=0, default=0)),
                ('claim_b27', models.IntegerField(db_default=0, default=0)),
                ('claim_b28', models.IntegerField(db_default=0, default=0)),
                ('claim_b29', models.IntegerField(db_default=0, default=0)),
                ('claim_b30', models.IntegerField(db_default=0, default=0)),
                ('claim_b31', models.IntegerField(db_default=0, default=0)),
                ('claim_b32', models.IntegerField(db_default=0, default=0)),
                ('claim_b33', models.IntegerField(db_default=0, default=0)),
                ('claim_b34', models.IntegerField(db_default=0, default=0)),
                ('claim_b35', models.IntegerField(db_default=0, default=0)),
                ('claim_b36', models.IntegerField(db_default=0, default=0)),
                ('claim_b37', models.IntegerField(db_default=0, default=0)),
                ('claim_b38', models.IntegerField(db_default=0, default=0)),
                ('claim_b39', models.IntegerField(db_default=0, default=0)),
                ('claim_b40', models.IntegerField(db_default=0, default=0)),
                ('claim_b41', models.IntegerField(db_default=0, default=0)),
                ('act_b00', models.IntegerField(db_default=0, default=0)),
                ('act_b01', models.IntegerField(db_default=0, default=0)),
                ('act_b02', models.IntegerField(db_default=0, default=0)),
                ('act_b03', models.IntegerField(db_default=0, default=0)),
                ('act_b04', models.IntegerField(db_default=0, default=0)),
                ('act_b05', models.IntegerField(db_default=0, default=0)),
                ('act_b06', models.IntegerField(db_default=0, default=0)),
                ('act_b07', models.IntegerField(db_default=0, default=0)),
                ('act_b08', models.IntegerField(db_default=0, default=0)),
                ('act_b09', models.IntegerField(db_default=0, default=0)),
                ('act_b10', models.IntegerField(db_default=0, default=0)),
                ('act_b11', models.IntegerField(db_default=0, default=0)),
                ('act_b12', models.IntegerField(db_default=0, default=0)),
                ('act_b13', models.IntegerField(db_default=0, default=0)),
                ('act_b14', models.IntegerField(db_default=0, default=0)),
                ('act_b15', models.IntegerField(db_default=0, default=0)),
                ('act_b16', models.IntegerField(db_default=0, default=0)),
                ('act_b17', models.IntegerField(db_default=0, default=0)),
                ('act_b18', models.IntegerField(db_default=0, default=0)),
                ('act_b19', models.IntegerField(db_default=0, default=0)),
                ('act_b20', models.IntegerField(db_default=0, default=0)),
                ('act_b21', models.IntegerField(db_default=0, default=0)),
                ('act_b22', models.IntegerField(db_default=0, default=0)),
                ('act_b23', models.IntegerField(db_default=0, default=0)),
                ('act_b24', models.IntegerField(db_default=0, default=0)),
                ('act_b25', models.IntegerField(db_default=0, default=0)),
                ('act_b26', models.IntegerField(db_default=0, default=0)),
                ('act_b27', models.IntegerField(db_default=0, default=0)),
                ('act_b28', models.IntegerField(db_default=0, default=0)),
                ('act_b29', models.IntegerField(db_default=0, default=0)),
                ('act_b30', models.IntegerField(db_default=0, default=0)),
                ('act_b31', models.IntegerField(db_default=0, default=0)),
                ('act_b32', models.IntegerField(db_default=0, default=0)),
                ('act_b33', models.IntegerField(db_default=0, default=0)),
                ('act_b34', models.IntegerField(db_default=0, default=0)),
                ('act_b35', models.IntegerField(db_default=0, default=0)),
                ('act_b36', models.IntegerField(db_default=0, default=0)),
                ('act_b37', models.IntegerField(db_default=0, default=0)),
                ('act_b38', models.IntegerField(db_default=0, default=0)),
                ('act_b39', models.IntegerField(db_default=0, default=0)),
                ('act_b40', models.IntegerField(db_default=0, default=0)),
                ('act_b41', models.IntegerField(db_default=0, default=0)),
                ('kind', models.CharField(max_length=40)),
                ('rooftop', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='rooftops.rooftop')),
            ],
            options={
                'db_table': 'kpis_alert_kind_day',
                'abstract': False,
                'base_manager_name': 'unscoped',
                'default_manager_name': 'unscoped',
                'indexes': [models.Index(fields=['rooftop', 'day'], name='alert_kind_day_rt_day')],
                'constraints': [models.UniqueConstraint(fields=('rooftop', 'day', 'is_month', 'kind'), name='alert_kind_day_once', nulls_distinct=False)],
            },
            managers=[
                ('unscoped', django.db.models.manager.Manager()),
            ],
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.RunSQL("ANALYZE kpis_alert_kind_day", migrations.RunSQL.noop),
    ]
