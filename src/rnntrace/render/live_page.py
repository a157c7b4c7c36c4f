"""The live page's shell (live.html.j2, live.js, live.css): it draws what the data scripts of a
run's live page hold (rnntrace.live writes them) and loads them again on a timer.

Like the report, it loads nothing from the network: the Content-Security-Policy lets it run its
own inline script (by hash) and scripts from its own directory ('self': the data scripts
beside it), and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources

__all__ = ["live_content_security_policy", "render_live_page"]


def live_content_security_policy(script: str) -> str:
    """This exact inline script, and scripts beside the page (its data), may run; nothing loads
    from anywhere else."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}' 'self'; base-uri 'none'; form-action 'none'"
    )


def render_live_page(title: str) -> str:
    """The page as one HTML string; `title` is escaped (it names the user's data)."""
    import jinja2
    from markupsafe import Markup

    here = resources.files("rnntrace.render")
    script = (here / "live.js").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    template = env.from_string((here / "live.html.j2").read_text(encoding="utf-8"))
    return template.render(
        title=title,
        script=Markup(script),
        style=Markup((here / "live.css").read_text(encoding="utf-8")),
        csp=live_content_security_policy(script),
    )
