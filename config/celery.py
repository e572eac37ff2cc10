"""The Celery application.

Configuration comes from Django's settings (``CELERY_*``), so the broker is the embedded filesystem
transport when ``REDIS_URL`` is unset and Redis when it is set.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kinderschutz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
