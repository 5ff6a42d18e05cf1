from django.apps import AppConfig


class RooftopsConfig(AppConfig):
    name = "rooftops"
    verbose_name = "Dealer groups, rooftops and staff"

    def ready(self):
        from rooftops import schema  # noqa: F401  (registers the API token scheme with drf-spectacular)
