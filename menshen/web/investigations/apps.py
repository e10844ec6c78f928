from django.apps import AppConfig


class InvestigationsConfig(AppConfig):
    name = "menshen.web.investigations"
    label = "investigations"
    verbose_name = "調查案件 / Investigations"
