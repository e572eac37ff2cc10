"""The dialogue between a youth office and the filing police station about one referral (issue 14 §3):
the office's question (Rückfrage) and the station's answer. Rules: docs/domain.md, "Rückfragen an
die Polizei"; services in ``referrals.dialogue``.

Registered in ``referrals/models.py`` (one import line at its end); the table is created by migration
``referrals/0018_police_dialogue``.
"""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency

# A question or an answer is a message, not a report: the report goes into a follow-up or a file.
QUESTION_TEXT_LIMIT = 4_000


# History entries of the dialogue (``ReferralEvent.kind``). Plain codes rather than choices of
# ``ReferralEvent.Kind``: the kinds of the history are extended by several pieces of work at once, and
# a choice would make each of them alter the same column; ``event_label`` names them.
QUESTION_ASKED = "question_asked"
QUESTION_ANSWERED = "question_answered"
EVENT_LABELS = {
    QUESTION_ASKED: _("Question to the police"),
    QUESTION_ANSWERED: _("Answer of the police"),
}


def event_label(event) -> str:
    """The label of a history entry (``ReferralEvent``), also of the dialogue's own kinds."""
    return str(EVENT_LABELS[event.kind]) if event.kind in EVENT_LABELS else event.get_kind_display()


class Question(models.Model):
    """One question of a youth office to the police station that filed the referral, and its answer.

    ``office`` is the office that asked (the responsible office at that moment), ``station`` the
    filing station it was put to. Police of the filing station and authority read and answer the
    questions of their referral; offices of the case read them (they are part of the case history,
    also after a hand-over). Questions never contain anything of the office's casework: they are
    written for the police to read."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="questions")
    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("asking office"))
    station = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("station"))
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("question"), validators=[MaxLengthValidator(QUESTION_TEXT_LIMIT)])
    asked_at = models.DateTimeField(_("asked"), default=timezone.now)
    answer = models.TextField(_("answer"), blank=True, validators=[MaxLengthValidator(QUESTION_TEXT_LIMIT)])
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("question to the police")
        verbose_name_plural = _("questions to the police")
        ordering = ["asked_at", "id"]
        indexes = [
            # The police list's badge and count: the open questions of a station (a handful at any
            # time), never all questions ever asked.
            models.Index(
                fields=["station", "referral"], condition=Q(answered_at__isnull=True), name="question_open_station"
            ),
        ]

    def __str__(self) -> str:
        return f"question {self.pk} on {self.referral_id}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None
