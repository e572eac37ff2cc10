from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure: idempotent API requests and helpers used by several apps."""

    name = "core"
    verbose_name = "Gemeinsame Dienste"
