from django.urls import path

from core.routers import Router

from .report import CooperationReportView
from .views import CalendarFeedView, HospitationViewSet, InfoEventViewSet, MeetingSeriesViewSet, MeetingViewSet

router = Router()
router.register("meeting-series", MeetingSeriesViewSet, basename="meeting-series")
router.register("meetings", MeetingViewSet, basename="meeting")
router.register("hospitations", HospitationViewSet, basename="hospitation")
router.register("events", InfoEventViewSet, basename="info-event")

urlpatterns = [
    path("calendar/feed/", CalendarFeedView.as_view(), name="calendar-feed"),
    # The annual cooperation report with the referral figures (issue 15 § 2).
    path("reports/cooperation/", CooperationReportView.as_view(), name="cooperation-report"),
    *router.urls,
]
