from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "menshen.web.accounts"
    label = "accounts"
    verbose_name = "人員與權限 / People and roles"
