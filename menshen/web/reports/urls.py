from django.urls import path

from menshen.web.reports import actions, views

app_name = "reports"
urlpatterns = [
    path("", views.home, name="home"),
    path("reports/", views.report_list, name="list"),
    path("reports/overdue/", views.overdue_list, name="overdue"),
    path("reports/<int:pk>/", views.report_detail, name="detail"),
    path("reports/<int:pk>/lookups/", views.lookup_list, name="lookups"),
    path("reports/<int:pk>/items/<int:item_pk>/", views.item_detail, name="item"),
    path("reports/<int:pk>/items/<int:item_pk>/decide/", actions.decide, name="decide"),
    path("reports/<int:pk>/items/<int:item_pk>/reveal/", actions.reveal_item, name="reveal_item"),
    path(
        "reports/<int:pk>/lookups/<int:lookup_pk>/reveal/",
        actions.reveal_lookup,
        name="reveal_lookup",
    ),
    path(
        "reports/<int:pk>/spot-checks/justify/",
        actions.justify_spot_checks,
        name="justify_spot_checks",
    ),
    path("reports/<int:pk>/submit/", actions.submit, name="submit"),
    path("reports/<int:pk>/approve/", actions.approve, name="approve"),
    path("reports/<int:pk>/return/", actions.return_report, name="return"),
    path("reports/<int:pk>/export.<str:fmt>", actions.export, name="export"),
    path("my/lookups/", views.my_lookups, name="my_lookups"),
]
