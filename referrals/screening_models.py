"""The screening (Ersteinschätzung) of a referral: weighty indications of a risk to the child, yes or
no (issue 13 §1; rules in docs/domain.md, "Ersteinschätzung").

"No" closes the case once a second professional of the office signs it off (four eyes, as the
assessment); "yes" opens the full § 8a risk assessment. A screening never produces a § 8a statistics
record. Registered in ``referrals.models`` by one import line at its end.
"""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import TEXT_LIMIT, Referral


class NextStep(models.TextChoices):
    """What follows a screening without weighty indications."""

    INFORMATION_ONLY = "information_only", _("Closed as information only")
    HELP_OUTSIDE_8A = "help_outside_8a", _("Help offered outside § 8a")
    GENERAL_SOCIAL_SERVICE = "general_social_service", _("Handed to the general social service")


class Screening(models.Model):
    """One recorded screening. A new recording is a new row (the history stays); the latest counts.
    Only a "no" is signed off; its sign-off closes the case."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="screenings")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    weighty_indications = models.BooleanField(_("weighty indications of a risk"))
    reason = models.TextField(_("reason"), validators=[MaxLengthValidator(TEXT_LIMIT)])
    next_step = models.CharField(_("next step"), max_length=30, choices=NextStep.choices, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(_("signed off"), null=True, blank=True)

    class Meta:
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")
        ordering = ["created_at", "id"]
        # The office dashboard's screenings completed in a period (issue 15, referrals.dashboard).
        indexes = [
            models.Index(fields=["signed_off_at"], name="screening_signed_off"),
            models.Index(fields=["created_at"], name="screening_created"),
        ]

    def __str__(self) -> str:
        return f"{self.referral_id}: {'yes' if self.weighty_indications else 'no'}"

    @property
    def is_complete(self) -> bool:
        return self.signed_off_at is not None

    @property
    def awaits_sign_off(self) -> bool:
        return not self.weighty_indications and self.signed_off_at is None


def latest_screening(referral: Referral) -> Screening | None:
    """The referral's latest screening (the one that counts), cached on the instance for one page."""
    cache = referral.__dict__.setdefault("_latest_screening", [])
    if not cache:
        cache.append(referral.screenings.order_by("-created_at", "-id").first())
    return cache[0]
