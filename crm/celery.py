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


@signals.celeryd_after_setup.connect
def _warm_the_assistant(sender=None, instance=None, **kwargs):
    # In the worker's main process, after its queues are chosen and before the pool forks: children share the model.
    from django.conf import settings

    if settings.ASSISTANT_WARM_AT_START and answers_shoppers(instance.app.amqp.queues.consume_from):
        from assistant import learned

        learned.warm()


def answers_shoppers(queues) -> bool:
    """Whether a worker consuming these queues replies to shoppers' texts (assistant.tasks.answer_text)."""
    from crm.queues import MESSAGES

    return MESSAGES in queues
