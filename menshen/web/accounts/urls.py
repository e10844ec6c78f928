from django.urls import path

from menshen.web.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("reauth/", views.reauth_view, name="reauth"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/unlock/", views.unlock, name="unlock"),
    path("people/<int:pk>/grant/", views.grant, name="grant"),
    path("people/<int:pk>/password/", views.reset_password, name="reset_password"),
    path("grants/<int:pk>/revoke/", views.revoke, name="revoke"),
]
