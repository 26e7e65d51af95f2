"""A person who asked their system for less motion gets none: no animation and no transition on
any element or pseudo-element (the playground's "Generating…" pulse, a deploying endpoint's
badge, the phone menu's slide), while everyone else still sees them."""

from __future__ import annotations

import pytest

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import make_endpoint
from tests.fixtures.browser import sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

# A reply being written (the template the playground clones) put in the page, then every element
# and its ::before / ::after asked what moves.
MOVING = """() => {
  const template = document.getElementById("pg-tpl-reply");
  const log = document.querySelector("[data-messages]");
  if (template) log.appendChild(template.content.cloneNode(true));
  const moving = [];
  for (const el of document.querySelectorAll("*")) {
    for (const pseudo of [null, "::before", "::after"]) {
      const s = getComputedStyle(el, pseudo);
      const animated = s.animationName !== "none";
      const eased = s.transitionDuration.split(",").some((d) => parseFloat(d) > 0);
      if (animated || eased) {
        moving.push((el.className || el.tagName) + (pseudo || "") + (animated ? " animation" : "")
          + (eased ? " transition" : ""));
      }
    }
  }
  return moving;
}"""


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_reduced_motion_stops_everything_that_moves(browser, live_server, member, motion):
    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT, label="sa", client_id="c", secret="s" * 16
    )
    make_endpoint(sa, "deploying-ep", status=Endpoint.Status.CREATING)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, reduced_motion=motion, locale="en-US"
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        moving = []
        for path in ("/inference/", "/playground/"):
            page.goto(f"{live_server.url}{path}")
            moving += page.evaluate(MOVING)
    finally:
        context.close()
    if motion == "reduce":
        assert moving == []
    else:
        # The same page moves for everyone else: the check sees motion where there is some.
        assert any("pg-streaming::before animation" in m for m in moving), moving
        assert any("sidebar" in m and "transition" in m for m in moving), moving
        assert any("badge-creating::before animation" in m for m in moving), moving
