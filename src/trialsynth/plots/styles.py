"""House styles for figures: fonts, sizes, colours and marker styling, selected by name.

A style is a frozen :class:`HouseStyle`; :func:`get_style` returns one by name
(``"cochrane"``, ``"jama"``) or passes a :class:`HouseStyle` through, and
:meth:`HouseStyle.replace` makes a variant (``get_style("jama").replace(font_size=7)``).

The styles imitate what the journals print:

* ``cochrane``: RevMan's layout. Arm columns, weight and the effect with its CI
  as text to the *left* of the plot, blue squares and black diamonds, p-values
  as RevMan prints them (``P < 0.00001``), heterogeneity as
  ``Tau² = ...; Chi² = ..., df = ... (P = ...); I² = ...%``.
* ``jama``: a compact table-like figure in the JAMA Network manner: the effect
  text and weight to the *right* of the plot, navy markers, horizontal rules
  under the header and above the footnote, ``P`` without a leading zero
  (``P = .03``, ``P < .001``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from trialsynth.errors import ArgumentError


@dataclass(frozen=True)
class HouseStyle:
    """Everything a figure's look depends on (sizes in points unless noted).

    Attributes
    ----------
    name : str
        The style's name.
    fonts : tuple of str
        Font families in order of preference; the first one installed is used
        (DejaVu Sans, shipped with matplotlib, is always the last resort).
    font_size : float
        Body text size (points).
    small_size : float
        Size of footnotes, heterogeneity lines and tick labels (points).
    row_height : float
        Height of one table row, in inches.
    plot_width : float
        Width of the graphical panel, in inches.
    square_color, square_edge, ci_color : str
        Study square fill, its edge, and the CI whisker colour.
    diamond_color, diamond_edge : str
        Pooled diamond fill and edge.
    pi_color : str
        Colour of the prediction interval bar.
    line_width : float
        Whisker and axis line width (points).
    square_min, square_max : float
        Side of the smallest and largest study square (points); the *area* is
        proportional to the weight between these bounds.
    null_line_style : str
        Matplotlib line style of the line of no effect.
    text_position : {"left", "right"}
        Whether the weight and effect text columns sit left (RevMan) or right of the plot.
    p_style : {"revman", "jama", "plain"}
        How p-values are printed.
    rules : bool
        Draw horizontal rules under the header and above the footnote.
    heading_weight : str
        Font weight of subgroup headings and the pooled rows.
    rob_colors : dict
        Colour per risk-of-bias judgement.
    """

    name: str
    fonts: tuple[str, ...] = ("DejaVu Sans",)
    font_size: float = 8.0
    small_size: float = 7.0
    row_height: float = 0.2
    plot_width: float = 2.6
    square_color: str = "#1f4e9c"
    square_edge: str = "#1f4e9c"
    ci_color: str = "black"
    diamond_color: str = "black"
    diamond_edge: str = "black"
    pi_color: str = "#c0392b"
    line_width: float = 0.8
    square_min: float = 3.0
    square_max: float = 11.0
    null_line_style: str = "-"
    text_position: str = "left"
    p_style: str = "revman"
    rules: bool = False
    heading_weight: str = "bold"
    ci_format: str = "brackets"  # brackets: 0.41 [0.13, 1.26]; parentheses: 0.41 (0.13-1.26)
    study_header: str = "Study"
    weight_header: str = "Weight"
    weight_percent_sign: bool = True
    revman_headers: bool = True  # "IV, Random, 95% CI" under the measure name
    column_gap: float = 0.14  # inches between text columns
    margin: float = 0.12  # inches around the figure
    rob_colors: dict = field(
        default_factory=lambda: {
            "low": "#2ca02c",
            "some_concerns": "#f1c232",
            "unclear": "#f1c232",
            "high": "#d62728",
            "no_information": "#bdbdbd",
        }
    )

    def replace(self, **changes) -> "HouseStyle":
        """A copy of the style with some fields changed (unknown field -> ArgumentError)."""
        unknown = sorted(set(changes) - set(self.__dataclass_fields__))
        if unknown:
            raise ArgumentError(
                f"style: unknown field(s) {unknown}; expected some of {sorted(self.__dataclass_fields__)}"
            )
        return replace(self, **changes)

    @property
    def font(self) -> str:
        """The first installed family of :attr:`fonts` (DejaVu Sans when none is)."""
        return _first_installed(self.fonts)


@lru_cache(maxsize=64)
def _first_installed(families: tuple[str, ...]) -> str:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in families:
        if family in installed:
            return family
    return "DejaVu Sans"


STYLES: dict[str, HouseStyle] = {
    "cochrane": HouseStyle(
        name="cochrane",
        fonts=("Arial", "Liberation Sans", "DejaVu Sans"),
        font_size=8.0,
        small_size=7.0,
        row_height=0.2,
        plot_width=2.6,
        square_color="#1d4fd8",
        square_edge="#1d4fd8",
        ci_color="black",
        diamond_color="black",
        diamond_edge="black",
        pi_color="#c0392b",
        line_width=0.8,
        text_position="left",
        p_style="revman",
        rules=False,
    ),
    "jama": HouseStyle(
        name="jama",
        fonts=("Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"),
        font_size=7.5,
        small_size=6.5,
        row_height=0.19,
        plot_width=2.4,
        square_color="#1b365d",
        square_edge="#1b365d",
        ci_color="#1b365d",
        diamond_color="#c8102e",
        diamond_edge="#c8102e",
        pi_color="#c8102e",
        line_width=0.75,
        null_line_style="--",
        text_position="right",
        p_style="jama",
        rules=True,
        ci_format="parentheses",
        study_header="Source",
        weight_header="Weight, %",
        weight_percent_sign=False,
        revman_headers=False,
    ),
}


def get_style(style: "str | HouseStyle | None" = "cochrane", **overrides) -> HouseStyle:
    """Return a house style by name (or pass a :class:`HouseStyle` through), with overrides.

    Raises
    ------
    ArgumentError
        If ``style`` names no known style, or an override names no style field.
    """
    if style is None:
        style = "cochrane"
    if isinstance(style, HouseStyle):
        chosen = style
    elif isinstance(style, str):
        try:
            chosen = STYLES[style.lower()]
        except KeyError:
            raise ArgumentError(
                f"style: unknown house style {style!r}; expected one of {sorted(STYLES)}"
            ) from None
    else:
        raise ArgumentError(f"style: expected a style name or HouseStyle, got {type(style).__name__}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "font" in overrides:
        overrides["fonts"] = (overrides.pop("font"),)
    return chosen.replace(**overrides) if overrides else chosen
