from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        # An email service's delivery events and send-time refusals become campaign results and suppressions; a
        # customer's reply is stamped on their recent campaign messages. The price-drop click receiver
        # (link_clicked).
        from marketing import price_drops, receivers  # noqa: F401
