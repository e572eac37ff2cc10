from django.urls import path
from rest_framework.routers import SimpleRouter

from .dashboard import DistrictDashboardView, OfficeDashboardView
from .retention import RetentionRuleViewSet
from .views import ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet, basename="referral")
router.register("retention-rules", RetentionRuleViewSet, basename="retention-rule")

urlpatterns = [
    *router.urls,
    # The dashboards' figures (issue 15 §§ 1-2, referrals/api/dashboard.py).
    path("dashboard/office/", OfficeDashboardView.as_view(), name="dashboard-office"),
    path("dashboard/district/", DistrictDashboardView.as_view(), name="dashboard-district"),
]
