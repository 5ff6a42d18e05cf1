"""Processes that answer shoppers load the assistant's reader at start, not on their first shopper's message."""

from types import SimpleNamespace

from celery.app.amqp import Queues
from kombu import Queue

from assistant import learned
from crm import celery as crm_celery
from crm import queues


def _worker(selected: list[str] | None):
    """A worker as celeryd_after_setup sees it: the app's queues, narrowed by -Q when given."""
    chosen = Queues([Queue(name) for name in queues.TASKS])
    if selected is not None:
        chosen.select(selected)
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=chosen)))


def _warmed(monkeypatch, worker) -> list[str]:
    calls = []
    monkeypatch.setattr(learned, "warm", lambda: calls.append("warm"))
    crm_celery._warm_the_assistant(sender="worker@test", instance=worker)
    return calls


def test_a_worker_on_every_queue_or_on_messages_loads_the_reader_before_its_pool_forks(settings, monkeypatch):
    settings.ASSISTANT_WARM_AT_START = True
    assert _warmed(monkeypatch, _worker(None)) == ["warm"]
    assert _warmed(monkeypatch, _worker([queues.MESSAGES, queues.WEBHOOKS])) == ["warm"]


def test_a_worker_that_never_answers_shoppers_does_not(settings, monkeypatch):
    settings.ASSISTANT_WARM_AT_START = True
    assert _warmed(monkeypatch, _worker([queues.SCORING])) == []
    assert _warmed(monkeypatch, _worker([queues.IMPORTS, queues.SWEEPS])) == []


def test_turned_off_nothing_is_loaded(settings, monkeypatch):
    settings.ASSISTANT_WARM_AT_START = False
    assert _warmed(monkeypatch, _worker(None)) == []


def test_warm_leaves_the_trained_model_in_the_process():
    learned.default_model.cache_clear()
    learned.warm()
    assert learned.default_model.cache_info().currsize == 1
