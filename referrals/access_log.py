"""Who looked at which child: the access log (docs/datenschutz.md; issue 4 § 3).

``access_log_record`` writes one entry per read of personal data and per refused attempt;
``access_log_for`` is the one scoping rule of who may read the log; the page and its CSV download
read the same entries part by part (``_log_branches``, one index range each; a test holds the two
equal), the per-referral API action (``ReferralViewSet.access_log``) through ``referral_access_log``. Each entry carries
the office whose log shows it (``AccessLogEntry.office``, written here), so the page and the CSV
read the office's log newest first from an index, whatever the size of the log (issue 12).
"""

import datetime
import heapq
import uuid
from operator import attrgetter

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agencies.actor import actor_of
from agencies.models import Membership, Role
from core.dates import DATE_FORMAT, DATE_INPUT_FORMATS, GERMAN_DATE
from core.queries import one_or_none
from core.related import PERSON_NAME_FIELDS, attach_related
from core.spreadsheet import csv_text

from .access import primary_membership, referral_access
from .models import OUTSIDE_OFFICE, AccessLogEntry, Referral
from .selectors import attachments_for

LOG_ROLES = (Role.OFFICE_LEAD, Role.DATA_PROTECTION_OFFICER)
PAGE_SIZE = 100
CSV_LIMIT = 50_000
PEOPLE_FROM_NEWEST = 500  # the person filter names the people of this many newest entries (``_people``)


# --- writing ----------------------------------------------------------------------------------------


def _entry(
    request,
    action: str,
    referral: Referral | None = None,
    obj_type: str = AccessLogEntry.ObjectType.REFERRAL,
    obj_id: int | None = None,
) -> AccessLogEntry:
    """The (unsaved) entry for ``request``: who (person, and the agency and role they acted in),
    what, how, when, the request id and the client address (``REMOTE_ADDR``). No names, no content.
    A refused attempt passes no ``referral`` but the requested id as ``obj_id``."""
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    # ``office`` (whose log shows it): the referral's youth office now, else the acting agency.
    if user is None:
        membership = None
    elif referral is not None:
        membership = referral_access(user, referral).membership
    else:
        membership = primary_membership(actor_of(user))
    if referral is not None:
        referral_id = referral.pk
        obj_id = referral.pk if obj_id is None and obj_type == AccessLogEntry.ObjectType.REFERRAL else obj_id
    else:
        referral_id = obj_id if obj_type == AccessLogEntry.ObjectType.REFERRAL else None
    request_id = getattr(request, "request_id", None)
    agency_id = membership.agency_id if membership else None
    return AccessLogEntry(
        person=user,
        agency_id=agency_id,
        office_id=_responsible_office_id(referral, referral_id) or agency_id,
        role=membership.role if membership else "",
        action=action,
        obj_type=obj_type,
        obj_id=obj_id,
        referral_id=referral_id,
        request_id=request_id if isinstance(request_id, uuid.UUID) else None,
        address=request.META.get("REMOTE_ADDR") or None,
    )


def _responsible_office_id(referral: Referral | None, referral_id: int | None) -> int | None:
    """The youth office responsible for the referral read (or refused) now; ``None`` for a referral
    in the triage queue, a nonexistent id, or an entry about no referral."""
    if referral is not None:
        return referral.youth_office_id
    if referral_id is None:
        return None
    return one_or_none(Referral.objects.filter(pk=referral_id).values_list("youth_office_id", flat=True))


def access_log_record(
    *,
    request,
    action: str,
    referral: Referral | None = None,
    obj_type: str = AccessLogEntry.ObjectType.REFERRAL,
    obj_id: int | None = None,
) -> AccessLogEntry:
    """Write one access-log entry for ``request`` (see ``_entry`` for what it holds)."""
    entry = _entry(request, action, referral, obj_type, obj_id)
    entry.save()
    return entry


def attachment_or_denied(request, access, attachment_id: int):
    """The attachment ``attachment_id`` among those ``access`` may download
    (``selectors.attachments_for``), else 404 with a "denied" entry naming the requested file — a
    refused download is logged like a refused referral (QA of 2026-12-05: it was not)."""
    if not 0 < int(attachment_id) < 2**63:  # no file has such an id, and no column could hold it (PostgreSQL)
        raise Http404
    attachment = one_or_none(attachments_for(access).filter(pk=attachment_id))
    if attachment is None:
        access_log_record(
            request=request,
            action=AccessLogEntry.Action.DENIED,
            referral=access.referral,
            obj_type=AccessLogEntry.ObjectType.ATTACHMENT,
            obj_id=int(attachment_id),
        )
        raise Http404
    return attachment


def access_log_search_hits(*, request, referrals) -> int:
    """One "found by a search" entry per referral a search listed for ``request.user`` (the inbox
    with a search term, which may be a child's name): whoever searches for a name and finds a case
    shows up in that case's log. The term itself is not logged. One INSERT for the page."""
    entries = [_entry(request, AccessLogEntry.Action.SEARCH, referral) for referral in referrals]
    AccessLogEntry.objects.bulk_create(entries)
    return len(entries)


# --- reading ----------------------------------------------------------------------------------------


def log_office_ids(user) -> list[int]:
    """The youth offices whose log ``user`` reads: those they lead or are data protection officer of."""
    return sorted(actor_of(user).agency_ids(*LOG_ROLES))


def access_log_for(user):
    """The access-log entries ``user`` may read: for the offices they lead or are data protection
    officer of, the entries those offices are responsible for (``AccessLogEntry.office``: the reads
    of their referrals, whoever read them) and the entries made by the offices' own members
    (whatever they tried to read). Nobody else reads the log. The data protection officer reads the
    log, never a referral: ``visible_to`` does not open referrals to that role. The page and the CSV
    read the same entries branch by branch (``_log_branches``), each one index range."""
    offices = log_office_ids(user)
    if not offices:
        return AccessLogEntry.objects.none()
    return AccessLogEntry.objects.filter(
        Q(office_id__in=offices) | (OUTSIDE_OFFICE & Q(agency_id__in=offices))
    ).select_related("person", "agency")


def _log_branches(offices: list[int]):
    """``access_log_for`` as one query per office and part, each read newest first from one index:
    the entries the office is responsible for (``accesslog_office_at``, with a person filter
    ``accesslog_office_person``), and its members' entries about other offices' referrals
    (``accesslog_agency_outside``, with a person filter ``accesslog_outside_person``). No OR across
    columns, so each is a range scan with a LIMIT. The names of the person and the agency are read
    after the page (``_newest``), not joined into every branch (issue 12)."""
    entries = AccessLogEntry.objects.all()
    for office in offices:
        yield entries.filter(office_id=office)
        yield entries.filter(OUTSIDE_OFFICE, agency_id=office)


def _newest(branches, limit: int) -> list[AccessLogEntry]:
    """The ``limit`` newest entries of the branches together (newest first, each entry once): at most
    ``limit`` rows of each, merged."""
    key = attrgetter("at", "pk")
    runs = [list(branch.order_by("-at", "-id")[:limit]) for branch in branches]
    merged, seen = [], set()
    for entry in heapq.merge(*runs, key=key, reverse=True):
        if entry.pk not in seen:
            seen.add(entry.pk)
            merged.append(entry)
            if len(merged) == limit:
                break
    attach_related(merged, ("person", "agency"), only={get_user_model(): PERSON_NAME_FIELDS})
    return merged


def referral_access_log(user, referral_id: int):
    """ "Who viewed this": the entries of one referral, for the lead and the data protection officer
    of its responsible office; ``None`` (→ 404) for everyone else and for a nonexistent id."""
    offices = log_office_ids(user)
    if not offices or not Referral.objects.filter(pk=referral_id, youth_office_id__in=offices).exists():
        return None
    return AccessLogEntry.objects.filter(referral_id=referral_id).select_related("person", "agency")


def references_of(user, entries) -> dict[int, str]:
    """The references of the entries' referrals, for those of the reader's offices only (a refused
    attempt on another office's referral stays a bare id)."""
    ids = {e.referral_id for e in entries if e.referral_id}
    if not ids:
        return {}
    rows = Referral.objects.filter(pk__in=ids, youth_office_id__in=log_office_ids(user)).values_list("pk", "reference")
    return dict(rows.order_by())  # no ordering: a dict, and no sort of the rows


def _person_name(person) -> str:
    if person is None:
        return ""
    return person.get_full_name() or person.get_username()


def entry_row(entry: AccessLogEntry, references: dict[int, str]) -> dict:
    """One entry as the page, the CSV and the API show it: staff, codes and ids — no child's name."""
    return {
        "id": entry.pk,
        "at": entry.at,
        "person": {"id": entry.person_id, "name": _person_name(entry.person)} if entry.person_id else None,
        "agency": {"id": entry.agency_id, "name": entry.agency.name} if entry.agency_id else None,
        "role": entry.role,
        "action": entry.action,
        "object_type": entry.obj_type,
        "object_id": entry.obj_id,
        "referral_id": entry.referral_id,
        "reference": references.get(entry.referral_id, ""),
        "request_id": str(entry.request_id) if entry.request_id else "",
        "address": entry.address or "",
    }


# --- the page and its CSV -------------------------------------------------------------------------


class AccessLogFilterForm(forms.Form):
    """Filters of the office's access log (GET). Invalid values are ignored and shown."""

    person = forms.TypedChoiceField(label=gettext_lazy("Person"), required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label=gettext_lazy("Kind of access"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(format=DATE_FORMAT, attrs={"type": "date", **GERMAN_DATE}),
    )
    date_to = forms.DateField(
        label=gettext_lazy("Until"),
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(format=DATE_FORMAT, attrs={"type": "date", **GERMAN_DATE}),
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("Reference or referral number"),
    )

    def __init__(self, *args, people=(), **kwargs):
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", _("Anyone"))] + [(p.pk, _person_name(p)) for p in people]
        self.fields["action"].choices = [("", _("Any"))] + list(AccessLogEntry.Action.choices)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end of the range lies before its start."))
        return data

    def filter(self, entries):
        if not self.is_valid():  # a filter that cannot be read lists nothing, not everything (QA of 2026-12-05)
            return entries.none()
        data = self.cleaned_data
        if data.get("person"):
            entries = entries.filter(person_id=data["person"])
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("date_from"):
            entries = entries.filter(at__gte=_midnight(data["date_from"]))
        if data.get("date_to"):
            entries = entries.filter(at__lt=_midnight(data["date_to"] + datetime.timedelta(days=1)))
        if term := (data.get("reference") or "").strip():
            match = Q(referral_id__in=Referral.objects.filter(reference__iexact=term).values("pk"))
            if term.isdigit():
                match |= Q(referral_id=int(term))
            entries = entries.filter(match)
        return entries


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _people(offices: list[int], requested) -> list:
    """The person filter's choices without reading the whole log: the offices' members, the people
    of the newest ``PEOPLE_FROM_NEWEST`` entries of each branch (outsiders who read the office's referrals — police,
    other offices, the coordinator) and the person asked for in the request if they appear in the log
    (an older outsider, reached by a link or typed id)."""
    ids = set(Membership.objects.filter(agency_id__in=offices).values_list("user_id", flat=True))
    for branch in _log_branches(offices):
        newest = branch.order_by("-at", "-id").values_list("person_id", flat=True)[:PEOPLE_FROM_NEWEST]
        ids |= {person for person in newest if person}
    if isinstance(requested, str) and requested.isdigit() and int(requested) not in ids:
        person = int(requested)
        if any(branch.filter(person_id=person).exists() for branch in _log_branches(offices)):
            ids.add(person)
    people = get_user_model().objects.filter(pk__in=ids)
    return list(people.order_by("last_name", "first_name", "username"))


def _log_and_form(request, limit: int):
    offices = log_office_ids(request.user)
    if not offices:
        raise PermissionDenied(_("The access log is open to the office lead and the data protection officer."))
    form = AccessLogFilterForm(request.GET, people=_people(offices, request.GET.get("person")))
    return _newest((form.filter(branch) for branch in _log_branches(offices)), limit), form


@login_required
def access_log_page(request):
    """The office's access log, newest first, filterable by person, action, dates and reference."""
    shown, form = _log_and_form(request, PAGE_SIZE)
    references = references_of(request.user, shown)
    rows = []
    for entry in shown:
        row = entry_row(entry, references)
        row["role_label"] = Role(entry.role).label if entry.role in Role.values else entry.role
        row["action_label"] = entry.get_action_display()
        row["object_label"] = entry.get_obj_type_display()
        rows.append(row)
    context = {
        "form": form,
        "rows": rows,
        "truncated": len(shown) == PAGE_SIZE,
        "page_size": PAGE_SIZE,
        "query": request.GET.urlencode(),
    }
    return render(request, "referrals/access_log.html", context)


CSV_COLUMNS = (
    "at", "person", "agency", "role", "action", "object_type", "object_id", "referral_id", "reference", "request_id",
    "address",
)  # fmt: skip
# The headings of the page (QA of 2026-12-05: the file was English, codes and ISO times).
CSV_HEADERS = (
    gettext_lazy("Time"), gettext_lazy("Person"), gettext_lazy("Agency"), gettext_lazy("Role"),
    gettext_lazy("Kind of access"), gettext_lazy("Object"), gettext_lazy("Object id"), gettext_lazy("Referral id"),
    gettext_lazy("Reference"), gettext_lazy("Request id"), gettext_lazy("Network address"),
)  # fmt: skip


def _label(choices, code: str) -> str:
    return str(choices(code).label) if code in choices.values else code


@login_required
def access_log_csv(request):
    """The same entries as the page (same filters) as CSV in the page's language, separated by ";"
    like every CSV of the system (a German spreadsheet opens it as columns): staff, labels and ids, no
    child's name."""
    shown, form = _log_and_form(request, CSV_LIMIT)
    if form.errors:  # the whole log under a filter that could not be read (QA of 2026-12-05)
        messages_text = "\n".join(
            f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}".lstrip(": ")
            for name, errors in form.errors.items()
        )
        return HttpResponseBadRequest(messages_text, content_type="text/plain; charset=utf-8")
    references = references_of(request.user, shown)
    rows = []
    for entry in shown:
        row = entry_row(entry, references)
        row["at"] = formats.date_format(timezone.localtime(row["at"]), "d.m.Y H:i:s")
        row["person"] = row["person"]["name"] if row["person"] else ""
        row["agency"] = row["agency"]["name"] if row["agency"] else ""
        row["role"] = _label(Role, row["role"])
        row["action"] = _label(AccessLogEntry.Action, row["action"])
        row["object_type"] = _label(AccessLogEntry.ObjectType, row["object_type"])
        rows.append([row[column] for column in CSV_COLUMNS])
    response = HttpResponse(csv_text(CSV_HEADERS, rows, delimiter=";"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="zugriffsprotokoll.csv"'
    return response
