"""Create this month's and the next two months' partitions at migrate time; beat keeps them coming after."""

from django.db import migrations
from django.utils import timezone


def create_partitions(apps, schema_editor):
    from tracking.partitions import partitions_ensure

    partitions_ensure(now=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_received_message")]

    operations = [migrations.RunPython(create_partitions, migrations.RunPython.noop)]
