# The assistant's text replies go through the outbox as their own kind (issue 15).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0013_email_provider_id'),
    ]

    operations = [
        migrations.AlterField(
            model_name='outboundmessage',
            name='kind',
            field=models.CharField(choices=[('first_response', 'Automated first response'), ('opt_out_confirmation', 'Opt-out confirmation'), ('staff', 'Sent by staff'), ('marketing', 'Campaign'), ('price_drop', 'Price-drop alert'), ('assistant', 'Assistant reply')], max_length=24),
        ),
    ]
