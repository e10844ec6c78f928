from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "menshen.web.privacy"
    label = "privacy"
    verbose_name = "個資調閱紀錄 / Personal-data access log"
