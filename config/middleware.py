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
