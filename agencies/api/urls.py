from django.urls import path

from core.routers import Router

from .views import AgencyViewSet, RoutingPreviewView

router = Router()
router.register("agencies", AgencyViewSet, basename="agency")

urlpatterns = [
    *router.urls,
    path("routing/preview/", RoutingPreviewView.as_view(), name="routing-preview"),
]
