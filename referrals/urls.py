from django.urls import path

from . import views

app_name = "referrals"
urlpatterns = [
    path("", views.home, name="home"),
    path("referrals/", views.station_list, name="list"),
    path("referrals/new/", views.referral_create, name="create"),
    path("referrals/<int:pk>/", views.referral_detail, name="detail"),
    path("referrals/<int:pk>/edit/", views.referral_edit, name="edit"),
    path("inbox/", views.inbox, name="inbox"),
    path("triage/", views.triage_queue, name="triage"),
    path("triage/<int:pk>/assign/", views.assign_office, name="assign_office"),
]
