"""Cross-cutting HTTP behaviour."""

import logging
import sys
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.defaults import server_error as django_server_error
from django_otp import user_has_device

from agencies import mfa


class NoStoreMiddleware:
    """Pages and API answers of logged-in users may carry social data: browsers and proxies must not
    keep them (``Cache-Control: no-store``). Static files and anonymous pages are left alone.

    Every ``/api/`` answer gets it regardless of ``request.user``: DRF authenticates token requests
    inside the view, so here the user of a token request still looks anonymous."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            response["Cache-Control"] = "no-store"
        return response


class LanguageMiddleware:
    """German unless the person chose another language with the language switch (cookie), or an
    API client asked for one with ``Accept-Language``.

    Django's LocaleMiddleware would follow the browser's Accept-Language header; in an office with
    English-language browsers the system would then greet caseworkers in English. Here German is the
    default and English is a deliberate choice.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        api = request.path.startswith("/api/")
        if chosen in dict(settings.LANGUAGES):
            language = chosen
        elif api:  # an integrator asks with Accept-Language (German otherwise)
            language = translation.get_language_from_request(request)
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        if api:
            patch_vary_headers(response, ("Accept-Language",))
        return response


# Health probes and metrics (core.health, core.metrics): answered without session, login or second
# factor, so that a load balancer's probe neither needs an account nor touches the session table.
SESSIONLESS_PATHS = ("/health/", "/metrics")

# Keys in the session: when the person logged in and when they last did something (Unix seconds).
SESSION_LOGIN_AT = "_login_at"
SESSION_LAST_ACTIVITY = "_last_activity"
# The last activity is written at most once in this many seconds: a request within it leaves the
# session unchanged, so it is not saved again (one write less per request; a page's form posts and
# AJAX calls come seconds apart). The idle timeout then counts from at most this long before the
# last request — a session ends up to a minute early, never late.
SESSION_ACTIVITY_RESOLUTION = 60


class SessionTimeoutMiddleware:
    """End a session after ``SESSION_IDLE_TIMEOUT`` seconds without a request, and in any case
    ``SESSION_ABSOLUTE_TIMEOUT`` seconds after login
    (docs/domain.md "Aufbewahrung und Sitzungen": idle sessions end after 15–30 minutes).

    The times live in the session itself, so the check costs no query beyond loading the session. An
    expired session is logged out; a page request is sent to the login page with a message, any other
    request continues as anonymous (the view then answers as to anyone not logged in).
    ``request.session_remaining`` is what is left of the session after this request; the page shows a
    warning shortly before it runs out (static/js/session.js). The last activity is recorded at most
    once a minute (``SESSION_ACTIVITY_RESOLUTION``), so most requests do not write the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if request.path.startswith(SESSIONLESS_PATHS):
            return self.get_response(request)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            login_at = session.setdefault(SESSION_LOGIN_AT, now)
            last_activity = session.get(SESSION_LAST_ACTIVITY, now)
            idle, absolute = settings.SESSION_IDLE_TIMEOUT, settings.SESSION_ABSOLUTE_TIMEOUT
            if now - last_activity >= idle or now - login_at >= absolute:
                logout(request)
                messages.warning(request, _("Your session has expired. Please log in again."))
                if request.method == "GET" and not request.path.startswith("/api/"):
                    return redirect_to_login(request.get_full_path())
            elif now - last_activity >= SESSION_ACTIVITY_RESOLUTION:
                session_activity_record(request)
            else:
                request.session_remaining = _remaining(now, last_activity, login_at)
        return self.get_response(request)


def session_activity_record(request) -> None:
    """Record the request as the session's last activity now, whatever ``SESSION_ACTIVITY_RESOLUTION``
    says: "Stay logged in" (the keep-alive of static/js/session.js) is the person's explicit wish and
    gets the whole idle time, also seconds after the last recorded activity."""
    now = int(time.time())
    request.session[SESSION_LAST_ACTIVITY] = now
    request.session_remaining = _remaining(now, now, request.session.get(SESSION_LOGIN_AT, now))


def _remaining(now: int, last_activity: int, login_at: int) -> int:
    """Seconds until the session ends: the idle timeout from the recorded activity or the absolute
    timeout from the login, whichever comes first."""
    return min(
        settings.SESSION_IDLE_TIMEOUT - (now - last_activity), settings.SESSION_ABSOLUTE_TIMEOUT - (now - login_at)
    )


class PermissionsPolicyMiddleware:
    """Switches off browser features no page uses (camera, microphone, location, payment, ...), so a
    page cannot be made to ask for them (``Permissions-Policy``, from ``settings.PERMISSIONS_POLICY``)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.policy)
        return response


class RequestIdMiddleware:
    """Give every request an id of its own (``request.request_id``, a UUID generated here — never
    taken from the client) and send it back as ``X-Request-ID``. The access log records it, so that
    an entry can be matched to a complaint or a server log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4()
        response = self.get_response(request)
        response["X-Request-ID"] = str(request.request_id)
        return response


class SecondFactorMiddleware:
    """No page or API answer for a logged-in person whose session has not proved a second factor
    (agencies.mfa; issue 4 § 1). Such a session reaches only the login and logout, the code step
    (``mfa_verify``), the set-up page (``mfa_enrol``), the keep-alive and the language switch; a page
    request is sent to the code step (or, without any factor yet, to the set-up), an API request
    is answered 403. A session verified with a recovery code reaches only the set-up.

    Requests with an API token are not affected: DRF authenticates them after the middleware, and a
    token is a credential of its own (issued by a lead, shown once). In the demo mode a person
    without a second factor set up passes.
    """

    OPEN_VIEWS = frozenset(
        {"login", "logout", "mfa_verify", "mfa_enrol", "keepalive", "set_language", "health_live", "health_ready",
         "metrics"}
    )  # fmt: skip

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.url_name in self.OPEN_VIEWS:
            return None
        if user.is_verified():
            if not mfa.is_recovery_login(user):
                return None
            target = "mfa_enrol"
        elif user_has_device(user):
            target = "mfa_verify"
        elif settings.DEMO_MODE:  # no factor set up: only the demo mode lets the person in
            return None
        else:
            target = "mfa_enrol"
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": _("Confirm your login with your second factor first.")}, status=403)
        url = reverse(target)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)


# Seconds a client is asked to wait before it tries again while the database is unreachable.
DATABASE_RETRY_AFTER = 60


class DatabaseUnavailableMiddleware:
    """While the database cannot be reached, every request gets a clear answer instead of a 500
    with a traceback (issue 10 § 7): API clients (``/api/``) JSON ``503`` with ``Retry-After``,
    pages the German page ``templates/503.html``; and the server log gets ONE line per request
    (method, path without the query string — a search term may be a child's name —, the error's
    class and first line, the request id), not a traceback of a hundred lines per request.

    The database fails in two kinds of place, both caught here:

    - in a view (``process_exception``): API requests with a token reach the view before their
      first query (DRF authenticates there);
    - in another middleware (loading the session, the person, the second factor): Django turns that
      exception into a 500 before any outer middleware sees it, so ``server_error`` (``handler500``,
      set in ``config/urls.py``) gives the same answer. With ``DEBUG`` on, Django shows its debug
      page there instead (development only).

    Statement-level errors the driver also reports as ``OperationalError`` (a lock timeout, a
    deadlock) get the same answer: they are transient too, and retrying is right. The 503 page is
    rendered without a request (no context processors: nothing that queries). Requests that need no
    database (static files, the login form) are served as usual.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return database_unavailable_response(request, exception)
        return None


def database_unavailable_response(request, exc):
    """The 503 answer for ``request`` (JSON under ``/api/``, else the German page), and the one log
    line of the request — later calls for the same request (an outer middleware failing again on
    the way out) return the answer without logging again."""

    if not getattr(request, "_database_unavailable_logged", False):
        request._database_unavailable_logged = True
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        logging.getLogger("config.database").error(
            "database unavailable: %s %s answered 503 (%s: %s) request_id=%s",
            request.method,
            request.path,
            type(exc).__name__,
            first_line,
            getattr(request, "request_id", "-"),
        )
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "detail": _(
                    "The service is temporarily unavailable: the database cannot be reached. "
                    "Please try again in a minute."
                )
            },
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # Django would log the 503 once more ("Service Unavailable: ...")
    return response


def server_error(request, *args, **kwargs):
    """``handler500``: a database failure raised inside another middleware (sessions, authentication,
    second factor) reaches Django's error handling before any outer middleware; it gets the same 503
    as everywhere else. Every other error is Django's own 500 page."""

    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable_response(request, exc)
    return django_server_error(request, *args, **kwargs)
