from rest_framework.routers import SimpleRouter

from .retention import RetentionRuleViewSet
from .views import ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet, basename="referral")
router.register("retention-rules", RetentionRuleViewSet, basename="retention-rule")

urlpatterns = router.urls
