from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import health, metrics

# Swagger UI under the content security policy: the split view serves its start script as a file, and
# the one inline <style> block of drf-spectacular's template is allowed by its hash on this page only
# (tests/test_security_headers.py fails if the template changes and the hash no longer matches).
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"
api_docs = csp_update({"style-src": [SWAGGER_UI_STYLE_HASH]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    # Probes and metrics for operators: no login, no session (config.middleware.SESSIONLESS_PATHS).
    path("health/live", health.live, name="health_live"),
    path("health/ready", health.ready, name="health_ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("referrals.urls")),
    path("notifications/", include("notifications.urls")),
    path("accounts/", include("agencies.urls")),
    path("cooperation/", include("meetings.urls", namespace="meetings")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("referrals.api.urls")),
    path("api/v1/", include("meetings.api.urls")),
    path("api/v1/", include("agencies.api.urls")),
    path("directory/", include("agencies.directory_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
]

# A database failure inside a middleware reaches this before any outer middleware: 503, not 500.
handler500 = "config.middleware.server_error"
