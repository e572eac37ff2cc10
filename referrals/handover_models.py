"""The record of a hand-over to an office outside the system (issue 15 § 3).

Registered at the end of ``referrals/models.py``. Rules: docs/domain.md, "Übergabe nach außen".
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency


class Handover(models.Model):
    """What was handed over to an office outside the system, to whom, when and by whom: the
    structured export (``document``) and the PDF of the case (``pdf``) exactly as they were given,
    both without anything confided under § 65 SGB VIII (``confidential_left_out`` counts what was
    left out). ``agency`` is the office that handed it over — the responsible youth office, or the
    district's coordination office for a referral from the triage queue —, whose people may fetch the
    two documents again (``referrals.handover.handover_for``). Deleted with its referral (retention).
    The hand-over itself is one per referral while it stays closed; a reopened and again exported case
    has a second record."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="handovers")
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("handed over by office")
    )
    recipient = models.CharField(_("receiving office outside the system"), max_length=300)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("handed over by")
    )
    at = models.DateTimeField(_("handed over at"), default=timezone.now)
    document = models.JSONField(_("structured export"))
    pdf = models.BinaryField(_("PDF of the case"))
    confidential_left_out = models.PositiveIntegerField(_("items confided under § 65 SGB VIII left out"), default=0)

    class Meta:
        verbose_name = _("hand-over outside the system")
        verbose_name_plural = _("hand-overs outside the system")
        ordering = ["-at", "-id"]
        # The list of an office's hand-overs, newest first, a page at a time (referrals.handover_views).
        indexes = [models.Index(fields=["agency", "-at", "-id"], name="handover_agency_at")]

    def __str__(self) -> str:
        return f"{self.referral_id} → {self.at:%Y-%m-%d}"
