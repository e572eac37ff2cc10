from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AgencyViewSet, RoutingPreviewView

router = SimpleRouter()
router.register("agencies", AgencyViewSet, basename="agency")

urlpatterns = [
    *router.urls,
    path("routing/preview/", RoutingPreviewView.as_view(), name="routing-preview"),
]
