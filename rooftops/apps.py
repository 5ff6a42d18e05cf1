from django.apps import AppConfig


class RooftopsConfig(AppConfig):
    name = "rooftops"
    verbose_name = "Dealer groups, rooftops and staff"
