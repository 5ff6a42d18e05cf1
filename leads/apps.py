from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads import receivers  # noqa: F401  (connects to customers.messaging's signals)
