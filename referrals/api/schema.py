"""The OpenAPI description of the referral API: examples, summaries and descriptions of every
endpoint of ``ReferralViewSet``, kept apart so that ``referrals/api/views.py`` reads as behaviour.
``referral_viewset_schema`` is applied to the viewset once (``extend_schema_view``, by action name)."""

from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)

from ..models import Status, Urgency
from .serializers import (
    AssessmentInputSerializer,
    AssessmentSerializer,
    AssignOfficeSerializer,
    AssignSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    ErrorSerializer,
    FollowUpInputSerializer,
    FollowUpSerializer,
    ForwardSerializer,
    NoteInputSerializer,
    NoteSerializer,
    ReferralDetailSerializer,
    ReferralDraftSerializer,
    ReferralExportSerializer,
    ReferralFiledSerializer,
    ReferralListSerializer,
    ReferralPoliceDetailSerializer,
    ReferralReasonSerializer,
    ReferralTriageSerializer,
    ReferralVersionSerializer,
    ReferralWriteSerializer,
    RerateSerializer,
    TimelineEventSerializer,
    VersionConflictSerializer,
)

REFERRAL_EXAMPLE = {
    "police_case_number": "ME-2026-123456",
    "incident_at": "2026-11-24T22:40:00+01:00",
    "incident_location": "Wohnung der Familie",
    "urgency": "urgent",
    "concerns": ["domestic_violence"],
    "facts_observed": "Streit, zerbrochenes Geschirr, Kind weinend im Flur.",
    "facts_reported": "Nachbarin berichtet von wiederholtem Streit.",
    "children_present": "witnessed",
    "police_measures": ["residence_ban"],
    "household_address": {"street": "Mittelstraße", "house_number": "12", "postcode": "40723", "city": "Hilden"},
    "children": [{"first_name": "Mia", "last_name": "Muster", "date_of_birth": "2019-04-02", "sex": "female"}],
    "persons": [
        {"role": "father", "first_name": "Tom", "last_name": "Muster", "has_custody": True, "is_suspect": True}
    ],
    "risk_factors": ["alcohol"],
    "parents_informed": True,
    "callback_phone": "02103 898-6410",
}

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The version the client read, as the ETag of the detail (`"3"`). Outdated → 412, nothing '
    "changes. Alternatively send `version` in the body (outdated → 409).",
)

ETAG = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], description='The referral\'s version: `"3"`.'
)

DETAIL_RESPONSE = PolymorphicProxySerializer(
    component_name="ReferralDetailForCaller",
    serializers=[ReferralDetailSerializer, ReferralPoliceDetailSerializer, ReferralTriageSerializer],
    resource_type_field_name=None,
)

ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input, or not possible in the current status."),
    403: OpenApiResponse(ErrorSerializer, description="The caller sees the referral but lacks the right."),
    404: OpenApiResponse(ErrorSerializer, description="Outside the caller's scope, or nonexistent."),
}

VERSION_ERRORS = {
    409: OpenApiResponse(VersionConflictSerializer, description="`version` in the body is outdated; nothing changed."),
    412: OpenApiResponse(VersionConflictSerializer, description="`If-Match` is outdated; nothing changed."),
}

OFFICE = {"id": 21, "name": "Jugendamt Hilden"}

PERSON = {"id": 12, "name": "Anna Schmidt"}

DETAIL_EXAMPLE = {
    "id": 42,
    "reference": "KPB-ME-2026-00042",
    "status": "acknowledged",
    "youth_office": OFFICE,
    "assignee": PERSON,
    "due_at": "2026-11-25T22:40:00+01:00",
    "overdue": False,
    "forwarded_to": None,
    "triage_reason": "",
    "triage_detail": "",
    "station": {"id": 3, "name": "Polizeiwache Hilden"},
    "version": 4,
    "created_at": "2026-11-24T23:05:00+01:00",
    "submitted_at": "2026-11-24T23:10:00+01:00",
    **REFERRAL_EXAMPLE,
}

ASSESSMENT_EXAMPLE = {
    "id": 5,
    "summary": "Hausbesuch mit zwei Fachkräften; Kind unverletzt, Mutter kooperativ.",
    "outcome": "support_need",
    "measures": ["offer_of_help"],
    "home_visit": True,
    "home_visit_on": "2026-11-26",
    "child_seen": True,
    "author": PERSON,
    "created_at": "2026-11-26T15:00:00+01:00",
    "updated_at": "2026-11-26T15:00:00+01:00",
    "signed_off_by": None,
    "signed_off_at": None,
    "is_complete": False,
    "referral_version": 6,
}

ASSESSMENT_INPUT = ("summary", "outcome", "measures", "home_visit_on", "child_seen")

ERROR_EXAMPLES = [
    OpenApiExample(
        "Outdated version",
        value={"detail": "This referral was changed…", "version": 5},
        response_only=True,
        status_codes=["409", "412"],
    ),
]


def _detail_example(name="Updated referral", **changes):
    return OpenApiExample(name, value={**DETAIL_EXAMPLE, **changes}, response_only=True, status_codes=["200"])


def transition_schema(summary, description, request, request_example, response_example, *, extra=None):
    """A POST action that changes the referral and answers with its new detail."""
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        parameters=[IF_MATCH, ETAG],
        responses={200: ReferralDetailSerializer, **(extra or {}), **ERRORS, **VERSION_ERRORS},
        examples=[
            OpenApiExample("Request", value=request_example, request_only=True),
            response_example,
            *ERROR_EXAMPLES,
        ],
    )


referral_viewset_schema = extend_schema_view(
    list=extend_schema(
        summary="Referrals visible to the caller",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Status.values),
            OpenApiParameter("urgency", OpenApiTypes.STR, enum=Urgency.values),
        ],  # cursor and page_size: from the pagination class (core.pagination.KeysetPagination)
    ),
    retrieve=extend_schema(
        summary="One referral (404 outside the caller's scope)",
        description="Offices get the referral with the state of the casework; police get it as filed plus "
        "the coded `feedback`; the district coordinator gets a triage summary. `ETag` carries the version "
        "to send back in `If-Match`.",
        parameters=[ETAG],
        responses={200: DETAIL_RESPONSE, 404: ERRORS[404]},
        examples=[
            _detail_example("Office"),
            _detail_example(
                "Police",
                status="in_assessment",
                feedback={
                    "code": "in_progress",
                    "office": OFFICE,
                    "contact": {"name": "Anna Schmidt", "phone": "02103 72-0", "email": "jugendamt@hilden.de"},
                },
            ),
        ],
    ),
    create=extend_schema(
        summary="File a referral (police officers and police coordinators)",
        description="`warnings` lists what the filer should check but does not stop the filing, e.g. a police "
        "case number the authority already used (one operation can concern two households).",
        request=ReferralWriteSerializer,
        responses={201: ReferralFiledSerializer},
        examples=[OpenApiExample("Domestic violence, Hilden", value=REFERRAL_EXAMPLE, request_only=True)],
    ),
    partial_update=extend_schema(
        summary="Change a draft, or submit it (its author)",
        description="The fields sent change, the others stay (`children` and `persons`, when sent, replace "
        "the lists); `version` is the one read. `draft: false` submits the draft (the same checks as "
        "filing, then routing and notification); without it, it stays a draft. Another person's draft: "
        "404; a referral already submitted: 403; a draft saved since the version read: 409.",
        request=ReferralDraftSerializer,
        parameters=[IF_MATCH],
        responses={200: ReferralFiledSerializer, 403: ErrorSerializer, **VERSION_ERRORS},
        examples=[
            OpenApiExample("Submit", value={**REFERRAL_EXAMPLE, "draft": False, "version": 2}, request_only=True)
        ],
    ),
    assign_office=extend_schema(
        summary="Assign a triaged referral to a youth office (district coordinator)",
        request=AssignOfficeSerializer,
        responses={200: ReferralListSerializer},
        examples=[
            OpenApiExample("Request", value={"youth_office": 27}, request_only=True),
            OpenApiExample(
                "Assigned",
                value={
                    "id": 42,
                    "reference": "KPB-ME-2026-00042",
                    "status": "submitted",
                    "urgency": "urgent",
                    "concerns": ["domestic_violence"],
                    "youth_office": {"id": 27, "name": "Jugendamt Ratingen"},
                    "station": {"id": 3, "name": "Polizeiwache Hilden"},
                    "triage_reason": "shared_postcode",
                    "assignee": None,
                    "due_at": "2026-11-25T23:10:00+01:00",
                    "overdue": False,
                    "created_at": "2026-11-24T23:05:00+01:00",
                    "submitted_at": "2026-11-24T23:10:00+01:00",
                },
                response_only=True,
            ),
        ],
    ),
    acknowledge=transition_schema(
        "Acknowledge receipt (responsible office)",
        "Police learn which office and contact person are responsible. Only from `submitted`.",
        ReferralVersionSerializer,
        {"version": 3},
        _detail_example(status="acknowledged", assignee=None),
    ),
    assign=transition_schema(
        "Assign a caseworker",
        "The office lead assigns (or reassigns) anyone of the office; a caseworker may take an unassigned "
        "case for themselves (assigning someone else: 403). A person of another office: 400.",
        AssignSerializer,
        {"assignee": 12, "version": 4},
        _detail_example(version=5),
    ),
    rerate=transition_schema(
        "Re-rate the urgency (with a written reason)",
        "Recomputes the acknowledgement clock (`due_at`) while the referral is not yet acknowledged.",
        RerateSerializer,
        {"urgency": "immediate", "reason": "Neue Erkenntnisse: Kind allein in der Wohnung.", "version": 3},
        _detail_example(status="submitted", urgency="immediate", due_at="2026-11-24T00:10:00+01:00", version=4),
    ),
    forward=transition_schema(
        "Forward to another youth office (Abgabe, § 8a Abs. 6 SGB VIII)",
        "Until the receiving office accepts or returns it, both offices see the case; the sender can no "
        "longer change it.",
        ForwardSerializer,
        {"to_office": 27, "reason": "Familie ist nach Velbert verzogen.", "version": 4},
        _detail_example(status="forwarded", forwarded_to={"id": 27, "name": "Jugendamt Velbert"}, version=5),
    ),
    accept=transition_schema(
        "Accept a forwarded case (receiving office)",
        "Access moves entirely to the receiving office; accepting counts as its acknowledgement.",
        ReferralVersionSerializer,
        {"version": 5},
        _detail_example(youth_office={"id": 27, "name": "Jugendamt Velbert"}, assignee=None, version=6),
    ),
    return_=transition_schema(
        "Return a forwarded case to the sender (receiving office, with a reason)",
        "The case goes back to the sending office in its previous status. The receiving office no longer "
        "sees it, so it gets 204 without a body.",
        ReferralReasonSerializer,
        {"reason": "Gewöhnlicher Aufenthalt weiterhin in Hilden.", "version": 5},
        _detail_example(version=6),
        extra={204: OpenApiResponse(description="Returned; the caller no longer sees the referral.")},
    ),
    close=transition_schema(
        "Close the case (after a signed-off risk assessment)",
        "400 while the latest assessment is not signed off by a second professional.",
        ReferralVersionSerializer,
        {"version": 8},
        _detail_example(status="closed", version=9),
    ),
    reopen=transition_schema(
        "Reopen a closed case (office lead, with a reason)",
        "It needs a new signed-off assessment to be closed again.",
        ReferralReasonSerializer,
        {"reason": "Erneute Meldung der Schule.", "version": 9},
        _detail_example(status="in_assessment", version=10),
    ),
    export=extend_schema(
        summary="Hand the referral over to an office outside the system (structured export)",
        description="The lead of the responsible office, or the district coordinator for a referral in "
        "triage. Answers the export as a JSON file (without data confided under § 65 SGB VIII), "
        "records who handed it to whom and when, and closes the referral here.",
        request=ReferralExportSerializer,
        responses={200: OpenApiTypes.OBJECT, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
        examples=[
            OpenApiExample("To a youth office of another district", value={"recipient": "Jugendamt Düsseldorf"}),
            OpenApiExample(
                "Export",
                response_only=True,
                value={
                    "format": "kinderschutz-kooperation/referral-export/1",
                    "referral": {"reference": "KPB-ME-2026-00042", "urgency": "urgent"},
                    "children": [{"first_name": "Mia", "last_name": "Muster", "date_of_birth": "2019-04-02"}],
                    "persons": [],
                    "notes": [],
                    "attachments": [],
                    "handover": {
                        "recipient": "Jugendamt Düsseldorf",
                        "by": "kreis.koordination.mettmann",
                        "at": "2026-11-25T10:00:00+00:00",
                    },
                },
            ),
        ],
    ),
    assessment=[
        extend_schema(
            methods=["GET"],
            summary="The current risk assessment (office only; 404 if none yet)",
            parameters=[ETAG],
            responses={200: AssessmentSerializer, 404: ERRORS[404]},
            examples=[OpenApiExample("Awaiting sign-off", value=ASSESSMENT_EXAMPLE, response_only=True)],
        ),
        extend_schema(
            methods=["POST"],
            summary="Record or revise the risk assessment (office only)",
            description="Moves the referral to `in_assessment`. Complete only after a second professional of "
            "the office signs it off; whoever revises it becomes its author.",
            request=AssessmentInputSerializer,
            parameters=[IF_MATCH, ETAG],
            responses={200: AssessmentSerializer, **ERRORS, **VERSION_ERRORS},
            examples=[
                OpenApiExample(
                    "Request",
                    value={k: ASSESSMENT_EXAMPLE[k] for k in ASSESSMENT_INPUT} | {"version": 5},
                    request_only=True,
                ),
                OpenApiExample("Recorded", value=ASSESSMENT_EXAMPLE, response_only=True, status_codes=["200"]),
                *ERROR_EXAMPLES,
            ],
        ),
    ],
    sign_off=extend_schema(
        summary="Sign the risk assessment off (four eyes)",
        description="A second professional of the same office — not the author (403) — signs it off.",
        request=ReferralVersionSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: AssessmentSerializer, **ERRORS, **VERSION_ERRORS},
        examples=[
            OpenApiExample("Request", value={"version": 6}, request_only=True),
            OpenApiExample(
                "Signed off",
                value=ASSESSMENT_EXAMPLE
                | {
                    "signed_off_by": {"id": 14, "name": "Jonas Weber"},
                    "signed_off_at": "2026-11-27T09:30:00+01:00",
                    "is_complete": True,
                    "referral_version": 7,
                },
                response_only=True,
                status_codes=["200"],
            ),
            *ERROR_EXAMPLES,
        ],
    ),
    followups=[
        extend_schema(
            methods=["GET"],
            summary="Police follow-ups (Nachträge) of the referral",
            description="For everyone who may read the case contents (police of the referral, its offices).",
            responses={200: FollowUpSerializer(many=True), 404: ERRORS[404]},
            examples=[
                OpenApiExample(
                    "Follow-ups",
                    value=[
                        {
                            "id": 3,
                            "text": "Erneuter Einsatz, Vater trotz Rückkehrverbot in der Wohnung.",
                            "incident_at": "2026-11-28T21:15:00+01:00",
                            "author": {"id": 8, "name": "PK Meier"},
                            "created_at": "2026-11-28T22:00:00+01:00",
                        }
                    ],
                    response_only=True,
                )
            ],
        ),
        extend_schema(
            methods=["POST"],
            summary="Add a follow-up (police of the filing station or authority)",
            description="Appears in the office's timeline and notifies the assignee. Others who see the referral: 403.",
            request=FollowUpInputSerializer,
            responses={201: FollowUpSerializer, **ERRORS},
            examples=[
                OpenApiExample(
                    "Request",
                    value={
                        "text": "Erneuter Einsatz, Vater trotz Rückkehrverbot in der Wohnung.",
                        "incident_at": "2026-11-28T21:15:00+01:00",
                    },
                    request_only=True,
                ),
                OpenApiExample(
                    "Added",
                    value={
                        "id": 3,
                        "text": "Erneuter Einsatz, Vater trotz Rückkehrverbot in der Wohnung.",
                        "incident_at": "2026-11-28T21:15:00+01:00",
                        "author": {"id": 8, "name": "PK Meier"},
                        "created_at": "2026-11-28T22:00:00+01:00",
                    },
                    response_only=True,
                    status_codes=["201"],
                ),
            ],
        ),
    ],
    notes=[
        extend_schema(
            methods=["GET"],
            summary="Internal notes (office only)",
            description="Notes confided under § 65 SGB VIII to another office are left out.",
            responses={200: NoteSerializer(many=True), 404: ERRORS[404]},
            examples=[
                OpenApiExample(
                    "Notes",
                    value=[
                        {
                            "id": 9,
                            "text": "Schule informiert, Rückruf erbeten.",
                            "confidential": False,
                            "author": PERSON,
                            "office": OFFICE,
                            "created_at": "2026-11-25T10:00:00+01:00",
                        }
                    ],
                    response_only=True,
                )
            ],
        ),
        extend_schema(
            methods=["POST"],
            summary="Add an internal note (responsible office)",
            request=NoteInputSerializer,
            responses={201: NoteSerializer, **ERRORS},
            examples=[
                OpenApiExample(
                    "Request",
                    value={"text": "Mutter bittet um Vertraulichkeit.", "confidential": True},
                    request_only=True,
                ),
                OpenApiExample(
                    "Added",
                    value={
                        "id": 10,
                        "text": "Mutter bittet um Vertraulichkeit.",
                        "confidential": True,
                        "author": PERSON,
                        "office": OFFICE,
                        "created_at": "2026-11-25T10:05:00+01:00",
                    },
                    response_only=True,
                    status_codes=["201"],
                ),
            ],
        ),
    ],
    attachments=[
        extend_schema(
            methods=["GET"],
            summary="Attachments (offices of the case; police of the referral: police files only)",
            description="Files confided under § 65 SGB VIII to another office are left out. Police of the filing "
            "station or authority read only the files police attached (issue 14 §3); everyone else: 404.",
            responses={200: AttachmentSerializer(many=True), 404: ERRORS[404]},
            examples=[
                OpenApiExample(
                    "Attachments",
                    value=[
                        {
                            "id": 4,
                            "original_name": "Arztbericht.pdf",
                            "content_type": "application/pdf",
                            "size": 48213,
                            "confidential": False,
                            "uploaded_by": PERSON,
                            "office": OFFICE,
                            "created_at": "2026-11-26T16:00:00+01:00",
                        }
                    ],
                    response_only=True,
                )
            ],
        ),
        extend_schema(
            methods=["POST"],
            summary="Attach a PDF or image (responsible office, or police of the referral)",
            description="Multipart upload. The type is checked from the content (PDF, PNG, JPEG); larger than "
            "the configured limit: 400. Police attach to their filed referral, optionally to one of its "
            "follow-ups (`followup`); they cannot mark a file confided (`confidential`: 400).",
            request={"multipart/form-data": AttachmentUploadSerializer},
            responses={201: AttachmentSerializer, **ERRORS, 413: ErrorSerializer},
            examples=[
                OpenApiExample(
                    "Request",
                    value={"file": "(binary)", "confidential": False},
                    request_only=True,
                    media_type="multipart/form-data",
                ),
                OpenApiExample(
                    "Attached",
                    value={
                        "id": 4,
                        "original_name": "Arztbericht.pdf",
                        "content_type": "application/pdf",
                        "size": 48213,
                        "confidential": False,
                        "uploaded_by": PERSON,
                        "office": OFFICE,
                        "created_at": "2026-11-26T16:00:00+01:00",
                    },
                    response_only=True,
                    status_codes=["201"],
                ),
            ],
        ),
    ],
    attachment=extend_schema(
        summary="Download an attachment (offices of the case; police: police files only)",
        description="Served as a download with a neutral file name (`anlage-<id>.pdf`), its checked content "
        "type, `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.",
        parameters=[OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            404: ERRORS[404],
        },
        examples=[
            OpenApiExample("Not found", value={"detail": "Not found."}, response_only=True, status_codes=["404"]),
        ],
    ),
    timeline=extend_schema(
        summary="The referral's history (office only)",
        description="Every event with who and when; `data` holds codes, ids and written reasons.",
        responses={200: TimelineEventSerializer(many=True), 404: ERRORS[404]},
        examples=[
            OpenApiExample(
                "Timeline",
                value=[
                    {
                        "id": 1,
                        "kind": "submitted",
                        "label": "Submitted and routed",
                        "actor": {"id": 8, "name": "PK Meier"},
                        "at": "2026-11-24T23:10:00+01:00",
                        "data": {"youth_office": 21},
                    },
                    {
                        "id": 2,
                        "kind": "acknowledged",
                        "label": "Receipt acknowledged",
                        "actor": PERSON,
                        "at": "2026-11-25T08:05:00+01:00",
                        "data": {},
                    },
                ],
                response_only=True,
            )
        ],
    ),
    access_log=extend_schema(
        summary="Who viewed this referral (office lead and data protection officer of its office)",
        description="Every logged read of the referral and its parts, and every refused attempt, newest first "
        "(at most 1,000; the office's page /access-log/ filters and exports all): "
        "person, agency, role, action, object, time, request id and address — no content. 404 for everyone "
        "else, the same as for a nonexistent referral.",
        responses={200: OpenApiResponse(build_array_type(build_basic_type(OpenApiTypes.OBJECT))), 404: ERRORS[404]},
        examples=[
            OpenApiExample(
                "Entries",
                response_only=True,
                value=[
                    {
                        "id": 17,
                        "at": "2026-11-25T08:04:00+01:00",
                        "person": PERSON,
                        "agency": OFFICE,
                        "role": "caseworker",
                        "action": "view",
                        "object_type": "referral",
                        "object_id": 42,
                        "referral_id": 42,
                        "reference": "KPB-ME-2026-00042",
                        "request_id": "5f0c1d8e-2a57-4a0e-9a57-0f5b8e7b9c11",
                        "address": "10.1.2.3",
                    }
                ],
            )
        ],
    ),
)
