from django.urls import path

from menshen.web.investigations import views

app_name = "investigations"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/answer/", views.answer, name="answer"),
    path("investigations/", views.investigation_list, name="list"),
    path("investigations/<int:pk>/", views.investigation_detail, name="detail"),
    path("investigations/<int:pk>/close/", views.close, name="close"),
]
