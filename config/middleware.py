"""Cross-cutting HTTP behaviour."""


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
    """German unless the person chose another language with the language switch (cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language header; in an office with
    English-language browsers the system would then greet caseworkers in English. Here German is the
    default and English is a deliberate choice.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


# Keys in the session: when the person logged in and when they last did something (Unix seconds).
SESSION_LOGIN_AT = "_login_at"
SESSION_LAST_ACTIVITY = "_last_activity"


class SessionTimeoutMiddleware:
    """End a session after ``SESSION_IDLE_TIMEOUT`` seconds without a request, and in any case
    ``SESSION_ABSOLUTE_TIMEOUT`` seconds after login (DESIGN.md: idle sessions end after 15–30 minutes).

    The times live in the session itself, so the check costs no query beyond loading the session. An
    expired session is logged out; a page request is sent to the login page with a message, any other
    request continues as anonymous (the view then answers as to anyone not logged in).
    ``request.session_remaining`` is what is left of the session after this request; the page shows a
    warning shortly before it runs out (static/js/session.js).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import time

        from django.conf import settings
        from django.contrib import messages
        from django.contrib.auth import logout
        from django.contrib.auth.views import redirect_to_login
        from django.utils.translation import gettext as _

        user = getattr(request, "user", None)
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
            else:
                session[SESSION_LAST_ACTIVITY] = now
                request.session_remaining = min(idle, absolute - (now - login_at))
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Switches off browser features no page uses (camera, microphone, location, payment, ...), so a
    page cannot be made to ask for them (``Permissions-Policy``, from ``settings.PERMISSIONS_POLICY``)."""

    def __init__(self, get_response):
        from django.conf import settings

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
        import uuid

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

    OPEN_VIEWS = frozenset({"login", "logout", "mfa_verify", "mfa_enrol", "keepalive", "set_language"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.conf import settings
        from django.http import JsonResponse
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import urlencode
        from django.utils.translation import gettext as _
        from django_otp import user_has_device

        from agencies import mfa

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
