"""``{{ series.rrule|cadence_words }}``: a cadence in words (meetings.cadence_words)."""

from django import template

from meetings.cadence_words import cadence_in_words

register = template.Library()


@register.filter
def cadence_words(rule):
    return cadence_in_words(rule or "")
