from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        # The price-drop click receiver (link_clicked), and its tasks, which are not in a `tasks` module that
        # Celery's autodiscovery would find.
        from marketing import price_drop_tasks, price_drops  # noqa: F401
