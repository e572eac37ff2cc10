"""Pages of the print and PDF of a case and of a hand-over outside the system (issue 15 § 3).

Every referral comes from the scope (``referrals.printing.print_access``, ``referrals.handover``):
outside it 404, like a referral that does not exist. Each print and each document fetched is written
to the access log as a download."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render

from .access_log import access_log_record
from .handover import handover_for
from .models import AccessLogEntry
from .printing import pdf_filename, print_for, print_pdf


def _print(request, pk):
    """(access, template, context) of the print (``printing.print_for``), or the 400 page for an
    unknown ``?confidential=`` (after the scope: outside it 404, whatever the parameter says)."""
    try:
        return print_for(request, pk)
    except ValidationError as exc:
        context = {"referral_pk": pk, "errors": exc.messages}
        return render(request, "referrals/print_bad_parameter.html", context, status=400)


@login_required
def print_page(request, pk):
    """The case for paper: for its offices the case file, for its police the referral as filed with
    the coded feedback. ``?confidential=include``: the lead's print for the office's own file."""
    printed = _print(request, pk)
    if isinstance(printed, HttpResponse):
        return printed
    access, template, context = printed
    return render(request, template, {**context, "may_include_confidential": access.is_lead})


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def print_pdf_download(request, pk):
    """The print page as a PDF (WeasyPrint), by the same rules."""
    printed = _print(request, pk)
    if isinstance(printed, HttpResponse):
        return printed
    access, template, context = printed
    return pdf_response(print_pdf(template, context), pdf_filename(access.referral))


@login_required
def handover_page(request, pk, handover_id):
    """The confirmation of a hand-over outside the system: what was handed over, to whom, when, by
    whom, with the two documents (PDF and structured export) to give to the receiving office."""
    handover = handover_for(request, pk, handover_id)
    return render(request, "referrals/export_confirmation.html", {"handover": handover, "referral": handover.referral})


def _handover_download(request, pk, handover_id):
    handover = handover_for(request, pk, handover_id)
    access_log_record(
        request=request,
        action=AccessLogEntry.Action.DOWNLOAD,
        referral=handover.referral,
        obj_type=AccessLogEntry.ObjectType.EXPORT,
        obj_id=handover.pk,
    )
    return handover


@login_required
def handover_pdf(request, pk, handover_id):
    handover = _handover_download(request, pk, handover_id)
    return pdf_response(bytes(handover.pdf), f"uebergabe-{handover.referral.reference or pk}.pdf")


@login_required
def handover_json(request, pk, handover_id):
    handover = _handover_download(request, pk, handover_id)
    body = json.dumps(handover.document, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="uebergabe-{handover.referral.reference or pk}.json"'
    return response
