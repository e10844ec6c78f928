from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "menshen.web.reports"
    label = "reports"
    verbose_name = "稽核日報表 / Daily audit reports"
