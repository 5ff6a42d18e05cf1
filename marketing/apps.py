from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        # An email service's delivery events and send-time refusals become campaign results and suppressions; a
        # customer's reply is stamped on their recent campaign messages. The price-drop click receiver
        # (link_clicked), and the price-drop tasks, which are not in a `tasks` module Celery's autodiscovery finds.
        from marketing import price_drop_tasks, price_drops, receivers  # noqa: F401
