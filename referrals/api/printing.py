"""``GET /api/v1/referrals/{id}/pdf/`` (issue 15 § 3): the print of a referral as a PDF, by the rules
of the print page (``referrals.printing``): the referral's offices get the case file, its police their
referral as filed with the coded feedback, everyone else 404; ``?confidential=include`` only for the
lead of the responsible office (403 otherwise), any other value of it 400. Each PDF is written to the
access log as a download."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from core.serializers import ErrorSerializer

from ..print_views import pdf_response
from ..printing import pdf_filename, print_for, print_pdf


class ReferralPdfView(APIView):
    def perform_content_negotiation(self, request, force=False):
        # The answer is a PDF whatever the client accepts (``Accept: application/pdf`` included); errors JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="The referral as a PDF for paper (its offices: the case file; its police: the referral as filed)",
        description=(
            "The print of the referral as `application/pdf`. For the referral's offices: header with reference "
            "and office, the police referral, children, persons, follow-ups, screening and risk assessment with "
            "both signatures, notes and attachments listed, the case history — without notes and attachments "
            "confided under § 65 SGB VIII, which the PDF names as left out. For police of the filing station or "
            "authority: their referral as submitted with the coded feedback. Anyone else: 404. Every PDF is "
            "recorded in the access log as a download."
        ),
        parameters=[
            OpenApiParameter(
                "confidential",
                OpenApiTypes.STR,
                enum=["include"],
                required=False,
                description="`include`: the lead of the responsible office includes what was confided under "
                "§ 65 SGB VIII, for the office's own file (403 for anyone else). Its only value: any other "
                "(also an empty one) is 400.",
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
            400: OpenApiResponse(ErrorSerializer, description="`confidential` with another value than `include`."),
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request, pk):
        access, template, context = print_for(request, pk)
        return pdf_response(print_pdf(template, context), pdf_filename(access.referral))
