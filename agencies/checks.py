"""System checks of this project (run by `manage.py check`; `--deploy` adds the deployment ones)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def demo_mode_off(app_configs, **kwargs):
    """The demo mode lets people in without a second factor: never in operation."""
    if settings.DEMO_MODE:
        return [
            Warning(
                "DEMO_MODE is on: people without a second factor can log in.",
                hint="Unset DEMO_MODE for any system that holds real data.",
                id="kinderschutz.W001",
            )
        ]
    return []
