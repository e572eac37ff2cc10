"""The annual cooperation report as a PDF (issue 15 § 2): the same document as the page and the CSV —
meetings, hospitations and events per pair of agencies, then the referral figures (counts below 3 as
"< 3") — rendered by WeasyPrint for the district coordinator. Nothing is fetched while rendering (every
address is refused), so no text in the report can make the server load anything."""

import functools

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from . import selectors
from .views import _district, _own_district_id, _report_year

STYLE = """
@page { size: A4 landscape; margin: 14mm 12mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 8.5pt; }
h1 { font-size: 14pt; margin: 0 0 3mm; } h2 { font-size: 11pt; margin: 6mm 0 2mm; }
table { border-collapse: collapse; width: 100%; } th, td { border: 0.5pt solid #888; padding: 1mm 1.5mm; }
thead th { background: #eee; } td { text-align: right; } tr { break-inside: avoid; }
"""


@functools.cache
def _weasyprint():
    # Imported when the first PDF is made: WeasyPrint loads pango through cffi, which web and worker
    # processes that never print should not load at start-up.
    import weasyprint
    from weasyprint.urls import URLFetcher

    class RefusingFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"not fetched: {url[:40]}")

    fetcher = RefusingFetcher()
    return weasyprint, fetcher, weasyprint.CSS(string=STYLE, url_fetcher=fetcher)


def report_pdf_bytes(*, district, year: int) -> bytes:
    rows = selectors.annual_report(district=district, year=year)
    figures = selectors.referral_figures(district=district, year=year)
    html = render_to_string(
        "meetings/report_print.html",
        {
            "year": year,
            "district": district,
            "rows": [r for r in rows if not r.get("is_total")],
            "total": next((r for r in rows if r.get("is_total")), None),
            "referral_figures": figures,
            "has_data": selectors.report_has_data(rows, figures),
            "made_at": timezone.localtime(),
        },
    )
    weasyprint, fetcher, stylesheet = _weasyprint()
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[stylesheet])


@login_required
def report_pdf(request):
    district_id = _own_district_id(request.user)
    year = _report_year(request)
    if year is None:
        raise Http404
    response = HttpResponse(
        report_pdf_bytes(district=_district(district_id), year=year), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="kooperationsbericht-{year}.pdf"'
    return response
