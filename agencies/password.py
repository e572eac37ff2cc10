"""A person changes their own password (issue 16 § 5, regaining access at night; docs/datenschutz.md
"Passwort"): the current password is required (a session left open on a shared computer does not let
a passer-by take the account), the new one passes AUTH_PASSWORD_VALIDATORS, and every other session
of the person ends at once (a stolen or forgotten login elsewhere is logged out); this session stays.
Recorded in the admin log and the server log, never the password. A forgotten password is reset by
the lead instead (agencies.mfa.password_reset_by_lead)."""

import logging

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from .services import admin_log_change, person_sessions_end

logger = logging.getLogger(__name__)


def password_change_self(*, user, password: str) -> int:
    """Set ``user``'s new password and end every session of theirs; returns how many ended. The
    caller keeps its own session (``update_session_auth_hash``). The API token stays: it is not
    bound to the password and has its own revocation ("log out everywhere", the lead)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = person_sessions_end(user=user, revoke_token=False)
    admin_log_change(by=user, obj=user, message=gettext("Password changed by the person"))
    logger.info("password of person %s changed by the person (%d sessions ended)", user.pk, ended)
    return ended


@login_required
def password_change(request):
    """GET: the form. POST: a failed form re-renders in place with the error summary; a changed
    password redirects to the account page (POST/redirect/GET)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    for name, autocomplete in (("old_password", "current-password"), ("new_password1", "new-password"),
                               ("new_password2", "new-password")):  # fmt: skip
        form.fields[name].widget.attrs.update({"autocomplete": autocomplete})
    form.fields["old_password"].widget.attrs.pop("autofocus", None)  # the page's heading comes first
    if request.method == "POST" and form.is_valid():
        password_change_self(user=request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, request.user)  # this session stays, under a new key
        messages.success(request, _("Your password has been changed. Your sessions elsewhere have ended."))
        return redirect("account")
    return render(request, "agencies/password_change.html", {"form": form})
