from django.urls import path
from rest_framework.routers import SimpleRouter

from .printing import ReferralPdfView
from .retention import RetentionRuleViewSet
from .views import ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet, basename="referral")
router.register("retention-rules", RetentionRuleViewSet, basename="retention-rule")

urlpatterns = [
    *router.urls,
    # The print of a referral as a PDF (issue 15 § 3).
    path("referrals/<int:pk>/pdf/", ReferralPdfView.as_view(), name="referral-pdf"),
]
