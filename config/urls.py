from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("referrals.urls")),
    path("notifications/", include("notifications.urls")),
    path("accounts/", include("agencies.urls")),
    path("cooperation/", include("meetings.urls", namespace="meetings")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("referrals.api.urls")),
    path("api/v1/", include("meetings.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
