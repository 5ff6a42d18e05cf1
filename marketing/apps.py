from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        from marketing import receivers  # noqa: F401  (connects to customers.messaging's signals)
