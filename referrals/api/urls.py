from django.urls import path

from core.routers import Router

from .dashboard import DistrictDashboardView, OfficeDashboardView
from .printing import ReferralPdfView
from .questions import QuestionAnswerView, ReferralQuestionsView
from .retention import RetentionRuleViewSet
from .signoff_requests import SignOffAskedViewSet
from .statistics import Statistics8aView
from .tasks import ReferralTasksView, SignOffRequestView, SignOffReturnView, TaskViewSet
from .views import ReferralViewSet

router = Router()
router.register("referrals", ReferralViewSet, basename="referral")
router.register("retention-rules", RetentionRuleViewSet, basename="retention-rule")
router.register("tasks", TaskViewSet, basename="task")
router.register("sign-off-requests", SignOffAskedViewSet, basename="sign-off-request")

urlpatterns = [
    *router.urls,
    # The dashboards' figures (issue 15 §§ 1-2, referrals/api/dashboard.py).
    path("dashboard/office/", OfficeDashboardView.as_view(), name="dashboard-office"),
    path("dashboard/district/", DistrictDashboardView.as_view(), name="dashboard-district"),
    # The dialogue with the police (issue 14 §3).
    path("referrals/<int:pk>/questions/", ReferralQuestionsView.as_view(), name="referral-questions"),
    # The print of a referral as a PDF (issue 15 § 3).
    path("referrals/<int:pk>/pdf/", ReferralPdfView.as_view(), name="referral-pdf"),
    path("questions/<int:pk>/answer/", QuestionAnswerView.as_view(), name="question-answer"),
    # Follow-through of a case (issue 14 §§ 1-2, referrals/api/tasks.py).
    path("referrals/<int:pk>/tasks/", ReferralTasksView.as_view(), name="referral-tasks"),
    path("referrals/<int:pk>/sign-off-request/", SignOffRequestView.as_view(), name="referral-sign-off-request"),
    path("referrals/<int:pk>/sign-off-return/", SignOffReturnView.as_view(), name="referral-sign-off-return"),
    # The § 8a statistic (issue 13 §3, referrals/api/statistics.py).
    path("statistics/8a/", Statistics8aView.as_view(), name="statistics-8a"),
]
