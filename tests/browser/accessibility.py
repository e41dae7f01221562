"""axe-core in the browser tests: the vendored `vendor/axe.min.js` (see
vendor/README.md) is injected into the page and run with the WCAG 2.0/2.1
A and AA rules. No network: the file is in the repository.

The pages' CSP (`script-src 'self'`) refuses an inline <script>, which is what
`add_script_tag(path=...)` writes, and the test must not switch the CSP off
(`bypass_csp`) since the browser console's CSP refusals are failures too. So
the file is served at a same-origin URL that Playwright answers itself
(`page.route`), and `add_script_tag(url=...)` loads it like any script of
the site."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN_AXE_JS = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    // not a WCAG-tagged rule, but a header a screen reader announces as nothing is a fault
    rules: {'empty-table-header': {enabled: true}},
    resultTypes: ['violations'],
  });
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map(
      n => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(0, 2).join(' ')),
  }));
}"""


AXE_URL = "/__tests__/axe.min.js"  # answered by Playwright, never by the server


def _serve_axe(route) -> None:
    route.fulfill(path=str(AXE), content_type="application/javascript")


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.1 AA violations on the page as it is now."""
    if not getattr(page, "_axe_routed", False):
        page.route(f"**{AXE_URL}", _serve_axe)
        page._axe_routed = True
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    return page.evaluate(RUN_AXE_JS, WCAG_21_AA)


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const sticksOut = el => el.getBoundingClientRect().right > width + 1 || el.scrollWidth > el.clientWidth + 1;
  const wide = [...document.querySelectorAll('main *, header *')]
    .filter(el => sticksOut(el) && getComputedStyle(el).position !== 'fixed')
    .filter(el => ![...el.children].some(sticksOut))
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '')
               + ': ' + (el.innerText || '').slice(0, 60));
  return {page: document.scrollingElement.scrollWidth, width, wide};
}"""


def overflow(page) -> list[dict]:
    """The page as a pseudo-violation when it is wider than its viewport (a phone
    user would scroll sideways), naming the widest elements; [] when it fits."""
    sizes = page.evaluate(OVERFLOW_JS)
    if sizes["page"] <= sizes["width"]:
        return []
    return [
        {
            "id": "page-wider-than-viewport",
            "impact": "serious",
            "help": f"the page is {sizes['page']} px wide in a {sizes['width']} px viewport",
            "nodes": sizes["wide"],
        }
    ]


def describe(violations_by_url: dict[str, list[dict]]) -> str:
    lines = []
    for url, violations in violations_by_url.items():
        for v in violations:
            lines.append(f"{url}: {v['id']} ({v['impact']}) {v['help']}")
            lines.extend(f"    {node}" for node in v["nodes"])
    return "\n".join(lines)
