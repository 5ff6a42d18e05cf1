from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        # An email service's delivery events and send-time refusals become campaign results and suppressions; a
        # customer's reply is stamped on their recent campaign messages.
        from marketing import receivers  # noqa: F401
