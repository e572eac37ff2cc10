from django.urls import path

from . import access_log, print_views, views

app_name = "referrals"
urlpatterns = [
    path("", views.home, name="home"),
    path("referrals/", views.station_list, name="list"),
    path("referrals/new/", views.referral_create, name="create"),
    path("referrals/<int:pk>/", views.referral_detail, name="detail"),
    path("referrals/<int:pk>/edit/", views.referral_edit, name="edit"),
    # Casework: each action its own POST-only URL, one table-driven view (views.PAGE_ACTIONS); the
    # download is the one GET.
    path("referrals/<int:pk>/acknowledge/", views.casework, {"key": "acknowledge"}, name="acknowledge"),
    path("referrals/<int:pk>/assign/", views.casework, {"key": "assign"}, name="assign"),
    path("referrals/<int:pk>/rerate/", views.casework, {"key": "rerate"}, name="rerate"),
    path("referrals/<int:pk>/forward/", views.casework, {"key": "forward"}, name="forward"),
    path("referrals/<int:pk>/accept/", views.casework, {"key": "accept"}, name="accept"),
    path("referrals/<int:pk>/return/", views.casework, {"key": "return"}, name="return"),
    path("referrals/<int:pk>/assessment/", views.casework, {"key": "assessment"}, name="assessment"),
    path("referrals/<int:pk>/sign-off/", views.casework, {"key": "sign_off"}, name="sign_off"),
    path("referrals/<int:pk>/close/", views.casework, {"key": "close"}, name="close"),
    path("referrals/<int:pk>/reopen/", views.casework, {"key": "reopen"}, name="reopen"),
    path("referrals/<int:pk>/export/", views.export, name="export"),
    # Print, PDF and the hand-over outside the system (issue 15 § 3, referrals.print_views).
    path("referrals/<int:pk>/print/", print_views.print_page, name="print"),
    path("referrals/<int:pk>/pdf/", print_views.print_pdf_download, name="pdf"),
    path("referrals/<int:pk>/handovers/<int:handover_id>/", print_views.handover_page, name="handover"),
    path("referrals/<int:pk>/handovers/<int:handover_id>/pdf/", print_views.handover_pdf, name="handover_pdf"),
    path("referrals/<int:pk>/handovers/<int:handover_id>/json/", print_views.handover_json, name="handover_json"),
    path("referrals/<int:pk>/notes/", views.casework, {"key": "notes"}, name="notes"),
    path("referrals/<int:pk>/attachments/", views.casework, {"key": "attachments"}, name="attachments"),
    path("referrals/<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("referrals/<int:pk>/followups/", views.followup_create, name="followups"),
    path("referrals/<int:pk>/grants/", views.grants, name="grants"),
    path("referrals/<int:pk>/grants/<int:grant_id>/end/", views.grant_end, name="grant_end"),
    path("access-log/", access_log.access_log_page, name="access_log"),
    path("access-log.csv", access_log.access_log_csv, name="access_log_csv"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/assign/", views.bulk_assign, name="bulk_assign"),
    path("triage/", views.triage_queue, name="triage"),
    path("triage/<int:pk>/assign/", views.assign_office, name="assign_office"),
    path("retention/", views.retention, name="retention"),
]
