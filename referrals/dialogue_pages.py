"""What the pages show of the dialogue with the police (issue 14 §3), for ``referrals.views``: read-only
helpers, like ``referrals.presenters``."""

from .access import ReferralAccess
from .dialogue import questions_for
from .dialogue_forms import AnswerForm, PoliceAttachmentForm
from .selectors import attachments_for
from .transitions import Action


def police_dialogue_context(access: ReferralAccess, offered: set, bound: dict) -> dict:
    """What the police page shows of the dialogue: the questions with an answer form for each open one,
    the files police attached and the form to attach one — in three queries, whatever the number of
    questions. Nothing of the office's casework."""
    if Action.FOLLOWUP not in offered:  # not police of a filed referral (a draft, say)
        return {}
    questions = list(questions_for(access))
    answer_forms = {}
    if Action.ANSWER in offered:
        posted = bound.get("answer")
        for question in questions:
            if question.is_open:
                if posted is not None and posted.question_id == question.pk:
                    answer_forms[question.pk] = posted
                else:
                    answer_forms[question.pk] = AnswerForm(question_id=question.pk)
    for question in questions:
        question.answer_form = answer_forms.get(question.pk)
    attachment_form = None
    if Action.POLICE_ATTACHMENT in offered:
        attachment_form = bound.get("police_attachment") or PoliceAttachmentForm(referral=access.referral)
    return {
        "questions": questions,
        "answer_forms": answer_forms,
        "police_attachments": list(attachments_for(access)),
        "police_attachment_form": attachment_form,
    }
