from django.urls import path

from . import (
    access_log,
    dashboard_views,
    dialogue_views,
    handover_views,
    print_views,
    statistics_views,
    task_views,
    views,
)

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
    path("referrals/<int:pk>/screening/", views.casework, {"key": "screening"}, name="screening"),
    path(
        "referrals/<int:pk>/screening/sign-off/",
        views.casework,
        {"key": "screening_sign_off"},
        name="screening_sign_off",
    ),
    path("referrals/<int:pk>/assessment/", views.casework, {"key": "assessment"}, name="assessment"),
    path("referrals/<int:pk>/sign-off/", views.casework, {"key": "sign_off"}, name="sign_off"),
    path("referrals/<int:pk>/close/", views.casework, {"key": "close"}, name="close"),
    path("referrals/<int:pk>/reopen/", views.casework, {"key": "reopen"}, name="reopen"),
    path("referrals/<int:pk>/export/", views.export, name="export"),
    # Print, PDF and the hand-over outside the system (issue 15 § 3, referrals.print_views).
    path("referrals/<int:pk>/print/", print_views.print_page, name="print"),
    path("referrals/<int:pk>/pdf/", print_views.print_pdf_download, name="pdf"),
    # The hand-overs outside the system the person may read (issue 15 § 3), each linking to its confirmation.
    path("handovers/", handover_views.handover_list, name="handovers"),
    path("referrals/<int:pk>/handovers/<int:handover_id>/", print_views.handover_page, name="handover"),
    path("referrals/<int:pk>/handovers/<int:handover_id>/pdf/", print_views.handover_pdf, name="handover_pdf"),
    path("referrals/<int:pk>/handovers/<int:handover_id>/json/", print_views.handover_json, name="handover_json"),
    path("referrals/<int:pk>/notes/", views.casework, {"key": "notes"}, name="notes"),
    path("referrals/<int:pk>/attachments/", views.casework, {"key": "attachments"}, name="attachments"),
    path("referrals/<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("referrals/<int:pk>/followups/", views.followup_create, name="followups"),
    # The dialogue with the police (issue 14 §3).
    path("referrals/<int:pk>/questions/", dialogue_views.question_create, name="questions"),
    path("questions/<int:question_id>/answer/", dialogue_views.question_answer_page, name="question_answer"),
    path("referrals/<int:pk>/police-attachments/", dialogue_views.police_attachment_create, name="police_attachments"),
    # Follow-through (issue 14 §§ 1-2): tasks and sign-off requests on the case, "Meine Aufgaben".
    path("referrals/<int:pk>/tasks/", views.casework, {"key": "tasks"}, name="tasks"),
    path("referrals/<int:pk>/sign-off-request/", views.casework, {"key": "sign_off_request"}, name="sign_off_request"),
    path("referrals/<int:pk>/sign-off-return/", views.casework, {"key": "sign_off_return"}, name="sign_off_return"),
    path("tasks/", task_views.my_tasks, name="my_tasks"),
    path("tasks/<int:task_id>/", task_views.task_change, name="task_change"),
    path("referrals/<int:pk>/grants/", views.grants, name="grants"),
    path("referrals/<int:pk>/grants/<int:grant_id>/end/", views.grant_end, name="grant_end"),
    path("access-log/", access_log.access_log_page, name="access_log"),
    path("access-log.csv", access_log.access_log_csv, name="access_log_csv"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/assign/", views.bulk_assign, name="bulk_assign"),
    path("triage/", views.triage_queue, name="triage"),
    path("triage/<int:pk>/assign/", views.assign_office, name="assign_office"),
    path("retention/", views.retention, name="retention"),
    path("retention/<int:pk>/withdraw/", views.retention_withdraw, name="retention_withdraw"),
    path("statistics/8a/", statistics_views.statistics_8a_page, name="statistics_8a"),
    # Oversight (issue 15 §§ 1-2): the office dashboard and the district's figures, each table as CSV.
    path("dashboard/district/", dashboard_views.district_dashboard, name="dashboard_district"),
    path("dashboard/district/figures.csv", dashboard_views.district_dashboard_csv, name="dashboard_district_csv"),
    path("dashboard/", dashboard_views.office_dashboard, name="dashboard"),
    path("dashboard/<slug:table>.csv", dashboard_views.office_dashboard_csv, name="dashboard_csv"),
]
