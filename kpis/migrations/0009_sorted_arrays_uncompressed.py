"""The rollups' sorted time arrays (speed_seconds, claim_seconds, act_seconds) stored out of line without
compression (STORAGE EXTERNAL).

Why: the exact percentiles cut one bucket's slice out of each row's array. A month row's array (a store's
month of answer times, ~4,500 values) was pglz-compressed, and PostgreSQL decompresses the whole array for
every slice it cuts: on the bench's group year that was ~20 µs per month row and slice, most of a slice
statement's time. Uncompressed it is read as it is (the arrays grow about twofold on disk: a few MB for a
year of a ten-store group). The refresh also stops compressing what it writes.

SET STORAGE applies to values written from now on, so the rows already there are rewritten once (only those
whose value is compressed; the same values, so the figures do not change)."""

from django.db import migrations

ARRAY_COLUMNS = ("speed_seconds", "claim_seconds", "act_seconds")


def _columns(apps, schema_editor):
    for model in apps.get_app_config("kpis").get_models():
        names = {f.column for f in model._meta.local_fields}
        for column in ARRAY_COLUMNS:
            if column in names:
                yield schema_editor.quote_name(model._meta.db_table), schema_editor.quote_name(column)


def uncompressed(apps, schema_editor):
    for table, column in _columns(apps, schema_editor):
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL")
        # A full slice builds a new array, which is stored by the column's new storage.
        schema_editor.execute(f"UPDATE {table} SET {column} = {column}[1:cardinality({column})] "
                              f"WHERE pg_column_compression({column}) IS NOT NULL")


def compressed(apps, schema_editor):
    for table, column in _columns(apps, schema_editor):
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTENDED")
        # Rewritten so that large values are compressed again, as they were before.
        schema_editor.execute(f"UPDATE {table} SET {column} = {column}[1:cardinality({column})] "
                              f"WHERE pg_column_size({column}) > 2000 AND pg_column_compression({column}) IS NULL")


class Migration(migrations.Migration):

    dependencies = [
        ("kpis", "0008_retention_period"),
    ]

    operations = [
        migrations.RunPython(uncompressed, compressed, elidable=False),
    ]
