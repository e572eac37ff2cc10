"""Branded German error pages (403, 404, 405, 500) also where Django would show its own.

Django shows its English technical pages for 404 and 500 whenever ``DEBUG`` is on, and ``make run``
(the demo) runs with ``DEBUG`` on: a demo user must meet the same pages as a user in production
(issue 16 § 3). The technical pages stay available to developers with ``DEBUG_PAGES=true``.
A 405 (a form address opened with GET, e.g. by going back after a failed form) is Django's empty
answer everywhere ("HTTP ERROR 405" in the browser): a browser is led to the form's page instead.
A referral's page that is out of scope for a person who was notified about it says where the case
went (``referrals.handed_over``), still with status 404.
"""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy
from django.views.defaults import page_not_found, server_error

from referrals.handed_over import handed_over_response

logger = logging.getLogger("config.error_pages")


def _is_page(request, response) -> bool:
    """Pages only: the API answers JSON errors of its own."""
    if request.path.startswith("/api/"):
        return False
    content_type = response.get("Content-Type", "")
    return not content_type or content_type.startswith("text/html")


API_ERRORS = {
    404: gettext_lazy("Not found."),
    500: gettext_lazy("An internal error occurred. It has been logged; please try again later."),
}


def _api_error(response):
    """Under ``/api/`` a 404 of an unknown address and a 500 are JSON like every other answer of the
    API — not Django's HTML page (in the demo its technical page, which lists every URL or shows a
    traceback). Developers keep the technical pages with ``DEBUG_PAGES``."""
    if response.status_code not in API_ERRORS or response.get("Content-Type", "").startswith("application/json"):
        return response
    if settings.DEBUG and settings.DEBUG_PAGES:
        return response
    answer = JsonResponse({"detail": str(API_ERRORS[response.status_code])}, status=response.status_code)
    answer["Cache-Control"] = "no-store"
    return answer


def _form_page_of(path: str) -> str | None:
    """The page a POST-only address belongs to: the nearest shorter address that is a page
    (``/referrals/5/acknowledge/`` → ``/referrals/5/``, ``/triage/5/assign/`` → ``/triage/``,
    ``/notifications/5/read/`` → ``/notifications/``); None if there is none below the start page."""
    parent = path
    while True:
        parent = parent.rstrip("/").rsplit("/", 1)[0] + "/"
        if parent == "/":
            return None
        try:
            resolve(parent)
        except Resolver404:
            continue
        return parent


def _handed_over(request):
    """A referral the person was notified about but no longer sees: where it went (referrals.handed_over)."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.view_name != "referrals:detail":
        return None
    return handed_over_response(request, int(match.kwargs["pk"]))


class BrandedErrorPagesMiddleware:
    """Replaces Django's technical 404/500 pages (``DEBUG`` on, ``DEBUG_PAGES`` off) by the branded
    templates and answers a GET of a POST-only page address (405) with a redirect to the page the
    form belongs to, or else the branded 405 page; a referral a notified person no longer sees gets
    the page that says it was handed over. Placed inside ``DatabaseUnavailableMiddleware`` (its 503
    is left alone) and inside the CSRF middleware (the pages it renders set the CSRF cookie)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "_branded_error_page", False):
            return response
        if request.path.startswith("/api/"):
            return _api_error(response)
        if not _is_page(request, response):
            return response
        if response.status_code == 405 and request.method in ("GET", "HEAD"):
            return self.method_not_allowed(request, response)
        if response.status_code == 404 and request.method == "GET":
            handed_over = _handed_over(request)
            if handed_over is not None:
                handed_over._branded_error_page = True
                return handed_over
        if settings.DEBUG and not settings.DEBUG_PAGES and response.status_code in (404, 500):
            if response.status_code == 404:
                branded = page_not_found(request, exception=None)
            else:
                branded = server_error(request)
            branded._branded_error_page = True
            return branded
        return response

    def method_not_allowed(self, request, response):
        """A GET of an address that takes only a POST (the address of a form that failed, reached
        again by going back, by the language switch or from the address bar): a person's browser
        (``Sec-Fetch-Dest: document``) is led to the page the form is on; any other client gets the
        405 with ``Allow``, as a page that explains it and links to that page — never a blank 405."""
        parent = _form_page_of(request.path)
        if parent is not None and request.headers.get("Sec-Fetch-Dest") == "document":
            redirect = HttpResponseRedirect(parent)
            redirect._branded_error_page = True
            return redirect
        return method_not_allowed_page(request, allowed=response.get("Allow", ""), form_page=parent)


def method_not_allowed_page(request, *, allowed: str, form_page: str | None = None):
    response = HttpResponse(render_to_string("405.html", {"form_page": form_page}, request=request), status=405)
    if allowed:
        response["Allow"] = allowed
    response._branded_error_page = True
    return response


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: a form sent from a page that was open too long (or from another site)
    gets the branded 403 page with what to do, not Django's English technical page."""
    logger.warning("CSRF check failed: %s %s (%s)", request.method, request.path, reason)
    return HttpResponseForbidden(render_to_string("403_csrf.html", request=request))
