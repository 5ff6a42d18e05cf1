"""Alert rows count their times to claim and to act per bucket, with running totals, like speed to lead.

The dashboard's median times to claim and to act then sort only the bucket the median falls in (kpis.selectors
`_percentiles_by_bucket`) instead of unnesting every alert of the period (~78,000 values for a year of a
ten-store group). Existing rows are filled from the sorted arrays they already hold, so the figures stay
exact without waiting for the nightly rebuild.

The bucket edges are copied here as they were when this migration was written (kpis.speed may change later;
a change of edges needs its own migration and a rebuild).
"""

import django.contrib.postgres.fields
from django.db import migrations, models

EDGES = (
    30, 60, 90, 120, 150, 180,
    *(m * 60 for m in range(4, 16)),
    1050, 1200, 1350, 1500, 1650, 1800,
    *(m * 60 for m in (35, 40, 45, 50, 55, 60, 75, 90, 120, 180, 240)),
    *(h * 3600 for h in (6, 8, 12, 24, 48, 96)),
)
BUCKETS = len(EDGES) + 1
ARRAYS = ("claim", "act")


def _columns(prefix: str) -> list[str]:
    return [f"{prefix}_b{i:02d}" for i in range(BUCKETS)]


def _counts(prefix: str) -> str:
    parts, low = [], None
    for high in (*EDGES, None):
        lower = f"v > {low}" if low is not None else "v >= 0"
        upper = f" AND v <= {high}" if high is not None else ""
        parts.append(f"count(*) FILTER (WHERE {lower}{upper})")
        low = high
    return (f"UPDATE kpis_alert_day SET ({', '.join(_columns(prefix))}) = "
            f"(SELECT {', '.join(parts)} FROM unnest({prefix}_seconds) AS v) WHERE cardinality({prefix}_seconds) > 0")


def _cum(prefix: str) -> str:
    columns, parts = _columns(prefix), ["0"]
    for i in range(BUCKETS):
        parts.append(" + ".join(columns[: i + 1]))
    return f"UPDATE kpis_alert_day SET {prefix}_cum = ARRAY[{', '.join(parts)}]"


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0004_computed_measure_indexes"),
    ]

    operations = [
        *[
            migrations.AddField(model_name="alertday", name=column,
                                field=models.IntegerField(default=0, db_default=0))
            for prefix in ARRAYS for column in _columns(prefix)
        ],
        *[
            migrations.AddField(
                model_name="alertday", name=f"{prefix}_cum",
                field=django.contrib.postgres.fields.ArrayField(
                    base_field=models.IntegerField(), blank=True, default=list, db_default=[], size=None),
            )
            for prefix in ARRAYS
        ],
        *[migrations.RunSQL(sql, migrations.RunSQL.noop)
          for prefix in ARRAYS for sql in (_counts(prefix), _cum(prefix))],
        # The fill rewrote every row: fresh statistics, or the next refresh's month rows can plan a scan per row
        # (5 s instead of 0.1 s for a store on the benchmark's year until autovacuum came by).
        migrations.RunSQL("ANALYZE kpis_alert_day", migrations.RunSQL.noop),
    ]
