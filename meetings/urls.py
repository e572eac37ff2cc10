from django.urls import path

from . import report_pdf, views

app_name = "meetings"
urlpatterns = [
    # Calendar: month and list view of one's own dates; the subscription (webcal) and its feed.
    path("", views.calendar_month, name="calendar"),
    path("list/", views.calendar_list, name="calendar_list"),
    path("subscription/", views.subscription, name="subscription"),
    path("subscription/revoke/", views.subscription_revoke, name="subscription_revoke"),
    path("calendar/<str:token>.ics", views.feed, name="feed"),
    # Liaison meetings and their series.
    path("series/", views.series_list, name="series_list"),
    path("series/new/", views.series_create, name="series_create"),
    path("series/preview/", views.series_preview, name="series_preview"),
    path("series/<int:pk>/", views.series_detail, name="series_detail"),
    path("series/<int:pk>/edit/", views.series_edit, name="series_edit"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/invitation.ics", views.meeting_ics, name="meeting_ics"),
    path("meetings/<int:pk>/confirm/", views.meeting_confirm, name="meeting_confirm"),
    path("meetings/<int:pk>/move/", views.meeting_move, name="meeting_move"),
    path("meetings/<int:pk>/cancel/", views.meeting_cancel, name="meeting_cancel"),
    path("meetings/<int:pk>/agenda/", views.agenda_add, name="agenda_add"),
    path("meetings/<int:pk>/minutes/", views.minutes_save, name="minutes_save"),
    path("meetings/<int:pk>/actions/", views.action_add, name="action_add"),
    path("meetings/<int:pk>/actions/<int:item_id>/done/", views.action_done, name="action_done"),
    # Hospitations.
    path("hospitations/", views.hospitation_list, name="hospitation_list"),
    path("hospitations/new/", views.hospitation_request, name="hospitation_request"),
    path("hospitations/totals/", views.hospitation_totals, name="hospitation_totals"),
    path("hospitations/<int:pk>/", views.hospitation_detail, name="hospitation_detail"),
    path("hospitations/<int:pk>/approve/", views.hospitation_approve, name="hospitation_approve"),
    path("hospitations/<int:pk>/decline/", views.hospitation_decline, name="hospitation_decline"),
    path("hospitations/<int:pk>/complete/", views.hospitation_complete, name="hospitation_complete"),
    # Information events.
    path("events/", views.event_list, name="event_list"),
    path("events/new/", views.event_create, name="event_create"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("events/<int:pk>/register/", views.event_register, name="event_register"),
    path("events/<int:pk>/cancel-registration/", views.event_cancel_registration, name="event_cancel_registration"),
    path("events/<int:pk>/attendance/", views.event_attendance, name="event_attendance"),
    # Annual cooperation report (district coordinator).
    path("report/", views.report, name="report"),
    path("report.csv", views.report_csv, name="report_csv"),
    path("report.pdf", report_pdf.report_pdf, name="report_pdf"),
]
