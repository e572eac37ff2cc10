"""Adding and removing children on the referral form with static/js/formsets.js: blocks added on
the page are taken out and the later ones renumbered; blocks that came from the server are marked
DELETE and hidden. Either way the server saves exactly the children left on the page."""

import re

import pytest

from referrals.models import Referral

pytestmark = pytest.mark.browser


def names_on_page(page) -> list[str]:
    blocks = page.locator("[data-formset=children] [data-formset-block]:visible")
    return [blocks.nth(i).locator("input[name$='-first_name']").input_value() for i in range(blocks.count())]


def test_add_remove_renumber_and_delete(page, live_server, personas, login):
    login(page, "police_hilden")
    page.goto(f"{live_server.url}/referrals/new/")
    add = page.locator("[data-formset=children] [data-formset-add]")
    add.click()
    add.click()
    for index, name in enumerate(("Anna", "Ben", "Cem")):
        page.fill(f"#id_children-{index}-first_name", name)
        page.fill(f"#id_children-{index}-last_name", "Beispiel")

    # Remove the middle block (added on this page): the last one moves up to index 1.
    page.locator("#children-1-block [data-formset-remove]").click()
    assert page.input_value("#id_children-TOTAL_FORMS") == "2"
    assert page.input_value("#id_children-1-first_name") == "Cem"
    assert page.locator("label[for='id_children-1-first_name']").count() == 1
    numbers = page.locator("[data-formset=children] [data-formset-number]")
    assert [numbers.nth(i).inner_text() for i in range(numbers.count())] == ["1", "2"]
    assert page.evaluate("document.activeElement.hasAttribute('data-formset-add')")

    page.click("button[name=action][value=draft]")
    page.wait_for_url(re.compile(r".*/referrals/\d+/$"))
    draft = Referral.objects.get()
    assert [c.first_name for c in draft.children.all()] == ["Anna", "Cem"]

    # On the edit page both blocks come from the server: removing one marks it for deletion.
    page.goto(f"{live_server.url}/referrals/{draft.pk}/edit/")
    assert names_on_page(page) == ["Anna", "Cem"]
    page.locator("#children-0-block [data-formset-remove]").click()
    assert page.locator("#children-0-block").is_hidden()
    assert page.is_checked("#id_children-0-DELETE")
    assert page.input_value("#id_children-TOTAL_FORMS") == "2"
    assert page.locator("#children-1-block [data-formset-number]").inner_text() == "1"
    page.click("button[name=action][value=draft]")
    page.wait_for_url(re.compile(r".*/referrals/\d+/$"))
    assert [c.first_name for c in draft.children.all()] == ["Cem"]


def test_persons_start_empty_and_can_be_added(page, live_server, personas, login):
    login(page, "police_hilden")
    page.goto(f"{live_server.url}/referrals/new/")
    persons = page.locator("[data-formset=persons]")
    assert persons.locator("[data-formset-block]").count() == 0
    persons.locator("[data-formset-add]").click()
    assert page.evaluate("document.activeElement.id") == "id_persons-0-role"
    page.select_option("#id_persons-0-role", "mother")
    page.fill("#id_persons-0-last_name", "Beispiel")
    page.check("#id_persons-0-has_custody")
    page.click("button[name=action][value=draft]")
    page.wait_for_url(re.compile(r".*/referrals/\d+/$"))
    person = Referral.objects.get().persons.get()
    assert (person.role, person.last_name, person.has_custody) == ("mother", "Beispiel", True)
