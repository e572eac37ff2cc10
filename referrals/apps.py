from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Referrals")

    def ready(self):
        # A seeded office gets its default retention rules: agencies announces the seed (a signal)
        # because agencies must not import referrals.
        from agencies.services import offices_seeded

        from .retention import retention_rules_seed_offices  # models are ready only now

        offices_seeded.connect(retention_rules_seed_offices, dispatch_uid="referrals_retention_defaults")
