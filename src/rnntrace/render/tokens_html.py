"""The report's letters coloured by a unit's activation (and attribution): plain views, no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnntrace.records import TokenTrace



def shade(value: float, scale: float = 1.0) -> str:
    """A background for one letter: blue for positive, red for negative, stronger when larger."""
    strength = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    rgb = "33, 102, 172" if value >= 0 else "178, 24, 43"
    return f"background-color: rgba({rgb}, {0.08 + 0.72 * strength:.3f})"


def token_rows(tokens: TokenTrace | None) -> list[dict[str, Any]]:
    """One row per text: its tokens with their styles, the prediction and the true class."""
    if tokens is None:
        return []
    rows = []
    for example in tokens.examples:
        shares = example.attribution
        scale = max((abs(v) for v in shares), default=0.0) if shares else 0.0
        rows.append({
            "text": example.text,
            "predicted": example.predicted,
            "probability": example.probability,
            "true": example.true_label,
            "letters": [
                {"token": token, "value": value, "style": shade(value)}
                for token, value in zip(example.tokens, example.activations, strict=True)
            ],
            "attribution": [
                {"token": token, "value": value, "style": shade(value, scale)}
                for token, value in zip(example.tokens, shares, strict=True)
            ] if shares else [],
        })
    return rows
