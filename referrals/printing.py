"""Print and PDF of a case (issue 15 § 3; rules: docs/domain.md, "Druck und PDF eines Falls").

Who gets which print is decided by ``referrals.access`` like every read: the referral's offices
(responsible, receiving) get the case file — the referral as filed, children, persons, follow-ups,
screening and risk assessment with both signatures, notes and attachments listed, the case history;
police of the filing station or authority get their referral as filed with the coded feedback;
everyone else 404, also the district coordinator and individual grants. Notes and attachments confided
under § 65 SGB VIII are left out with a visible remark, unless the lead of the responsible office
includes them for the office's own file (``confidential_included``).

The PDF is the same HTML rendered by WeasyPrint with ``static/css/print.css``; it fetches nothing
(no URL is resolved), so a text in a case can never make the server load anything.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, prefetch_related_objects
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from . import selectors
from .access import ReferralAccess, referral_for
from .access_log import access_log_record
from .models import AccessLogEntry, Attachment, Note, Referral, ReferralEvent
from .presenters import describe_events, feedback_label, person_name

PRINT_RELATED = (
    "station",
    "police_authority",
    "youth_office",
    "created_by",
    "assignee",
    "acknowledged_by",
    "forwarded_to",
)
PRINT_STYLESHEET = "css/print.css"
# WeasyPrint reports each step of every PDF at INFO: not worth a log line per download.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def print_access(request, pk) -> ReferralAccess:
    """The referral from the caller's scope (``referral_for``: 404 outside, logged as refused) whose
    print the caller may have: its offices and its police. Anyone else in the scope (the district
    coordinator's triage summary, an individual grant) gets 404 too, logged as refused."""
    queryset = Referral.objects.visible_to(request.user).select_related(*PRINT_RELATED)
    access = referral_for(request, pk, queryset=queryset)
    if not (access.works_on_case or access.reads_as_police):
        access_log_record(request=request, action=AccessLogEntry.Action.DENIED, referral=access.referral)
        raise Http404
    return access


CONFIDENTIAL_PARAMETER = "confidential"
CONFIDENTIAL_INCLUDE = "include"  # the one value of ``?confidential=`` (docs/domain.md "Druck und PDF eines Falls")


def confidential_requested(query) -> bool:
    """Whether the query (``request.GET``) asks to include what was confided: ``?confidential=include``.
    Without the parameter, no; any other value — also an empty one, or ``include`` given beside another
    — is refused (``ValidationError`` on the parameter: 400), rather than a print without what the caller
    may have meant to include."""
    values = query.getlist(CONFIDENTIAL_PARAMETER)
    if any(value != CONFIDENTIAL_INCLUDE for value in values):
        message = _(
            "Unknown value of the parameter “confidential”: leave it out for the usual print (“include” is for "
            "the office lead only)."
        )
        raise ValidationError({CONFIDENTIAL_PARAMETER: [message]})
    return bool(values)


def confidential_included(access: ReferralAccess, requested: bool) -> bool:
    """Whether the print includes what was confided under § 65 SGB VIII: only when the lead of the
    responsible office asks for it (for the office's own file). Anyone else asking is refused (403)."""
    if not requested:
        return False
    if not access.is_lead:
        raise PermissionDenied(
            _("Only the lead of the responsible office includes data confided under § 65 SGB VIII, for its own file.")
        )
    return True


def print_for(request, pk) -> tuple[ReferralAccess, str, dict[str, Any]]:
    """(access, template, context) of the print of referral ``pk``, the one sequence of the print page,
    its PDF and the API's PDF: the scope first (``print_access``: outside it 404), then
    ``?confidential=`` (``ValidationError`` for an unknown value, ``PermissionDenied`` for anyone but the
    lead), then the document; written to the access log as a download."""
    access = print_access(request, pk)
    include = confidential_included(access, confidential_requested(request.GET))
    template, context = print_document(access, include_confidential=include)
    access_log_record(request=request, action=AccessLogEntry.Action.DOWNLOAD, referral=access.referral)
    return access, template, context


def _confided_split(queryset, office_ids: set[int], include: bool):
    """(the rows printed, how many confided rows were left out). Confided rows of another office are
    never printed nor counted (the office does not know of them)."""
    rows = list(queryset.filter(Q(confidential=False) | Q(office_id__in=office_ids)))
    printed = [row for row in rows if include or not row.confidential]
    return printed, len(rows) - len(printed)


def case_print_data(referral: Referral, *, office_ids: set[int], include_confidential: bool) -> dict[str, Any]:
    """Everything the case print shows, in a fixed number of queries. ``office_ids``: the offices whose
    confided notes and attachments the reader's office holds (``ReferralAccess.case_office_ids``; for
    a hand-over, the handing office)."""
    notes, notes_left_out = _confided_split(
        Note.objects.filter(referral=referral).select_related("author", "office"), office_ids, include_confidential
    )
    attachments, attachments_left_out = _confided_split(
        Attachment.objects.filter(referral=referral).select_related("uploaded_by", "office"),
        office_ids,
        include_confidential,
    )
    events = list(ReferralEvent.objects.filter(referral=referral).select_related("actor").order_by("at", "id"))
    assessments = list(
        referral.assessments.select_related("author", "signed_off_by")
        .prefetch_related("child_parts__child")
        .order_by("created_at", "id")
    )
    prefetch_related_objects([referral], "children", "persons")
    return {
        "referral": referral,
        "followups": list(referral.followups.select_related("author")),
        "screenings": _screenings(referral),
        "assessments": assessments,
        "notes": notes,
        "attachments": attachments,
        "events": describe_events(events),
        "notes_left_out": notes_left_out,
        "attachments_left_out": attachments_left_out,
        "confidential_left_out": notes_left_out + attachments_left_out,
        "confidential_included": include_confidential,
        "printed_at": timezone.now(),
    }


def _screenings(referral: Referral) -> list:
    """The screening step (issue 13 § 1) with both signatures."""
    return list(referral.screenings.select_related("author", "signed_off_by").order_by("pk"))


def police_print_data(referral: Referral) -> dict[str, Any]:
    """The police's print: their referral as filed, the follow-ups, and the coded feedback."""
    feedback = selectors.police_feedback(referral)
    prefetch_related_objects([referral], "children", "persons")
    return {
        "referral": referral,
        "followups": list(referral.followups.select_related("author")),
        "feedback": feedback,
        "feedback_label": feedback_label(feedback) if feedback else "",
        "printed_at": timezone.now(),
    }


def print_document(access: ReferralAccess, *, include_confidential: bool = False) -> tuple[str, dict[str, Any]]:
    """The template and context of the print ``access`` allows (see the module docstring)."""
    referral = access.referral
    if access.works_on_case:
        data = case_print_data(referral, office_ids=access.case_office_ids, include_confidential=include_confidential)
        return "referrals/print.html", data
    return "referrals/print_police.html", police_print_data(referral)


def render_html(template: str, context: dict[str, Any], *, request=None, for_pdf: bool = False) -> str:
    return render_to_string(template, {**context, "for_pdf": for_pdf}, request=request)


def _refuse_fetch(url: str):
    """Nothing is fetched for a PDF (no images, fonts or styles from addresses a text might name);
    the stylesheet is read from the static files."""
    raise ValueError(f"not fetched: {url[:40]}")


@functools.cache
def _weasyprint():
    """WeasyPrint (loads pango through cffi: only where a PDF is made), its fetcher that refuses every
    address, and the stylesheet."""
    # Imported when the first PDF is made, not at start-up (pango through cffi).
    import weasyprint
    from weasyprint.urls import URLFetcher

    class RefusingFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            return _refuse_fetch(url)

    fetcher = RefusingFetcher()
    return weasyprint, fetcher, weasyprint.CSS(filename=finders.find(PRINT_STYLESHEET), url_fetcher=fetcher)


def pdf_from_html(html: str) -> bytes:
    """The PDF of a print page (A4, ``static/css/print.css``)."""
    weasyprint, fetcher, stylesheet = _weasyprint()
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[stylesheet])


def print_pdf(template: str, context: dict[str, Any]) -> bytes:
    return pdf_from_html(render_html(template, context, for_pdf=True))


def pdf_filename(referral: Referral) -> str:
    """Only the reference: no name in a file name (it ends up in download folders and mail)."""
    return f"{referral.reference or referral.pk}.pdf"


def signer_name(user) -> str:
    return person_name(user) if user is not None else ""
