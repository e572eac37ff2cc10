"""Cross-cutting HTTP behaviour."""


class NoStoreMiddleware:
    """Pages and API answers of logged-in users may carry social data: browsers and proxies must not
    keep them (``Cache-Control: no-store``). Static files and anonymous pages are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
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
