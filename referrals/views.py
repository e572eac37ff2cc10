from django.http import Http404, HttpResponse


def _placeholder(request, *args, **kwargs):
    raise Http404


home = station_list = referral_create = referral_detail = referral_edit = inbox = triage_queue = assign_office = _placeholder
_ = HttpResponse
