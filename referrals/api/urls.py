from django.urls import path
from rest_framework.routers import SimpleRouter

from .questions import QuestionAnswerView, ReferralQuestionsView
from .retention import RetentionRuleViewSet
from .views import ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet, basename="referral")
router.register("retention-rules", RetentionRuleViewSet, basename="retention-rule")

urlpatterns = [
    *router.urls,
    # The dialogue with the police (issue 14 §3).
    path("referrals/<int:pk>/questions/", ReferralQuestionsView.as_view(), name="referral-questions"),
    path("questions/<int:pk>/answer/", QuestionAnswerView.as_view(), name="question-answer"),
]
