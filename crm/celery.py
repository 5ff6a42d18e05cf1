import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _redact_secrets_in_worker_logs(logger=None, **kwargs):
    # Celery replaces the root logger's handlers at start-up; the redaction filter goes on its handlers too.
    from crm.logging import install_redaction

    install_redaction((logger.name,) if logger is not None else ())
