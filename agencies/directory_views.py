"""Pages of the contact directory (Erreichbarkeiten): the district's list for its members, and the
edit page of an agency's entry for whoever keeps it (office lead, police coordinator, district
coordinator). Rules in ``agencies.directory`` and docs/domain.md "Sofort-Fälle"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from .directory import contact_card, directory_for, editable_by, may_edit
from .directory_forms import AgencyContactForm, ContactPersonFormSet
from .services import agency_contacts_save


@login_required
def directory_list(request):
    """Every agency of the person's districts with its contact details (on-call only where allowed)."""
    agencies = list(directory_for(request.user))
    if not agencies:
        raise PermissionDenied  # no membership: no district to show
    editable = {a.pk for a in editable_by(request.user)}
    cards = [{**contact_card(agency, request.user), "editable": agency.pk in editable} for agency in agencies]
    return render(request, "agencies/directory.html", {"cards": cards})


@login_required
def directory_edit(request, pk):
    """The edit page of one agency's entry: 404 outside the person's districts, 403 for an agency
    they do not keep. On an error the page comes back with everything typed still in it."""
    agency = get_object_or_404(directory_for(request.user), pk=pk)
    if not may_edit(request.user, agency):
        raise PermissionDenied
    if request.method == "POST":
        form = AgencyContactForm(request.POST, agency=agency)
        persons = ContactPersonFormSet(request.POST, instance=agency, prefix="persons")
        if form.is_valid() and persons.is_valid():
            agency_contacts_save(
                agency=agency,
                by=request.user,
                fields=form.cleaned_data,
                hours=form.cleaned_data["hours"],
                persons_formset=persons,
            )
            messages.success(request, _("The contact details of %(agency)s have been saved.") % {"agency": agency.name})
            return redirect("directory:list")
    else:
        form = AgencyContactForm(initial=AgencyContactForm.initial_for(agency), agency=agency)
        persons = ContactPersonFormSet(instance=agency, prefix="persons")
    errors = bool(form.errors or any(persons.errors) or persons.non_form_errors())
    context = {"agency": agency, "form": form, "persons": persons, "has_errors": errors}
    return render(request, "agencies/directory_edit.html", context)
