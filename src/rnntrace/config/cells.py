"""One specification per recurrent cell: its torch layer, gates, equations, names and size.

Everything the library says about a cell is read from its CellSpec, so a variant (a new cell,
or an option such as LSTM's proj_size) is described here once and the model, the step-by-step
recomputation, the shapes, the quiz and every view follow. Strings become specs at the edge,
with `cell_spec(name)`; inside, code holds the spec.

No torch here, so configs, records and renderers that read a spec stay torch-free; the model
module turns a spec into a layer (`model.layer_class`, `model.make_rnn`).

Equations are written once, in PyTorch's documented gate order and with ASCII `(t-1)`; `{act}`
stands for the plain RNN's nonlinearity. Views that want typeset text derive it (`typeset`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rnntrace.errors import ConfigError

if TYPE_CHECKING:
    pass

NONLINEARITIES = ("tanh", "relu")


@dataclass(frozen=True)
class Gate:
    """One block of rows in W_ih and W_hh, in PyTorch's order (the `i` of W_ii, b_hi)."""

    symbol: str  # its letter in the equations and in PyTorch's docs
    name: str  # what the docs call it: "forget"
    activation: str  # σ | tanh | {act} (the plain RNN's own nonlinearity)
    output: str  # the symbol its equation defines: the gate itself, or h for the plain RNN


@dataclass(frozen=True)
class CellSpec:
    """What rnntrace knows about one recurrent cell."""

    name: str  # as configs and the CLI spell it: rnn | lstm | gru
    display: str  # "LSTM"
    torch_name: str  # the class in torch.nn: "LSTM"
    gates: tuple[Gate, ...]  # the row blocks of W_ih / W_hh, in PyTorch's order
    equation_lines: tuple[str, ...]  # one step, canonical; gates first, then the state updates
    projected: str  # the last line's replacement when proj_size > 0 ("" if not supported)
    has_cell_state: bool  # returns (h_n, c_n) rather than h_n
    has_nonlinearity: bool  # takes nonlinearity="tanh" | "relu"

    @property
    def n_gates(self) -> int:
        """Weight blocks per layer and direction (G in G·H rows); the plain RNN has one."""
        return len(self.gates)

    @property
    def class_name(self) -> str:
        return f"nn.{self.torch_name}"

    @property
    def supports_projection(self) -> bool:
        return bool(self.projected)

    @property
    def gated(self) -> bool:
        return self.gates[0].output == self.gates[0].symbol

    def blocks_text(self) -> str:
        """"4 gates (i, f, g, o)", or "1 block" for the plain RNN."""
        if not self.gated:
            return "1 block"
        return f"{self.n_gates} gates ({', '.join(g.symbol for g in self.gates)})"

    def gate_names_text(self) -> str:
        """"4 (input, forget, cell, output)", or "1 (no gates)" for the plain RNN."""
        if not self.gated:
            return "1 (no gates)"
        return f"{self.n_gates} ({', '.join(g.name for g in self.gates)})"

    def equations(self, nonlinearity: str = "tanh", proj_size: int = 0) -> list[str]:
        """The equations of one step, in symbols."""
        lines = list(self.equation_lines)
        if proj_size > 0:
            lines[-1] = self.projected
        return [line.format(act=nonlinearity) for line in lines]

    def summary(self, nonlinearity: str = "tanh", proj_size: int = 0) -> str:
        """The step in one line: the gates by name, then how the state is updated."""
        lines = self.equations(nonlinearity, proj_size)
        if not self.gated:
            return "; ".join(lines)
        updates = lines[self.n_gates :]
        return f"{', '.join(g.symbol for g in self.gates)} gates; " + "; ".join(updates)

    def state_width(self, hidden_size: int, proj_size: int = 0) -> int:
        """The width of h_t (what the next step, the layer above and h_n see)."""
        return proj_size if proj_size > 0 else hidden_size

    def layer_parameters(self, input_size: int, hidden_size: int, proj_size: int = 0) -> int:
        """Parameters of one layer and direction: G·H·(F_in + R + 2), plus W_hr (P × H)."""
        r = self.state_width(hidden_size, proj_size)
        return self.n_gates * hidden_size * (input_size + r + 2) + proj_size * hidden_size

    def layer_inputs(
        self, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool,
        proj_size: int = 0,
    ) -> list[int]:
        """What each layer reads: the input features, then the layer below's D·R outputs."""
        d = 2 if bidirectional else 1
        above = d * self.state_width(hidden_size, proj_size)
        return [input_size if layer == 0 else above for layer in range(num_layers)]

    def n_parameters(
        self, input_size: int, hidden_size: int, num_layers: int = 1,
        bidirectional: bool = False, proj_size: int = 0,
    ) -> int:
        """Trainable values in the layer stack (biases on, as rnntrace builds it)."""
        d = 2 if bidirectional else 1
        fan_ins = self.layer_inputs(input_size, hidden_size, num_layers, bidirectional, proj_size)
        return sum(d * self.layer_parameters(f, hidden_size, proj_size) for f in fan_ins)

    def parameter_formula(
        self, input_size: int, hidden_size: int, num_layers: int = 1,
        bidirectional: bool = False, proj_size: int = 0,
    ) -> str:
        """How the parameter count arises, layer by layer, in words and numbers."""
        g, h, d, p = self.n_gates, hidden_size, (2 if bidirectional else 1), proj_size
        r = self.state_width(h, p)
        parts = []
        fan_ins = self.layer_inputs(input_size, h, num_layers, bidirectional, p)
        for layer, f_in in enumerate(fan_ins):
            per = self.layer_parameters(f_in, h, p)
            body = f"{g}·{h}·({f_in} + {r} + 2)" + (f" + {p}·{h}" if p else "")
            if d > 1:
                body = f"{d}·({body})" if p else f"{d}·{body}"
            parts.append(f"layer {layer}: {body} = {d * per}")
        rows = "W_hh (P)" if p else "W_hh (H)"
        tail = ", plus W_hr (P × H) projecting h" if p else ""
        total = self.n_parameters(input_size, h, num_layers, bidirectional, p)
        return (
            f"{self.blocks_text()} × H rows of W_ih (F_in), {rows}, b_ih and b_hh per "
            f"direction{tail}; " + "; ".join(parts) + f"; total {total}"
        )

    def layer_kwargs(
        self, nonlinearity: str = "tanh", proj_size: int = 0
    ) -> dict[str, Any]:
        """The constructor arguments only this cell takes."""
        kwargs: dict[str, Any] = {}
        if self.has_nonlinearity:
            kwargs["nonlinearity"] = nonlinearity
        if proj_size > 0:
            kwargs["proj_size"] = proj_size
        return kwargs

    def validate(self, nonlinearity: str, proj_size: int, hidden_size: int) -> None:
        """Refuse options this cell does not take, naming the bad value."""
        if nonlinearity not in NONLINEARITIES:
            raise ConfigError(f"unknown nonlinearity {nonlinearity!r}: choose tanh or relu")
        if not self.has_nonlinearity and nonlinearity != "tanh":
            raise ConfigError(f"nonlinearity={nonlinearity!r} applies only to cell='rnn'")
        if proj_size and not self.supports_projection:
            raise ConfigError(f"proj_size={proj_size} applies only to cell='lstm'")
        if proj_size < 0 or (proj_size and proj_size >= hidden_size):
            raise ConfigError(
                f"proj_size must be in [0, hidden_size={hidden_size}), got {proj_size}"
            )


_SYMBOL = re.compile(r"\b([a-z])_(\(t-1\)|t)(?![a-z0-9_])")


def at_step(line: str, t: int, backward: bool = False) -> str:
    """A canonical line written for step t: h_(t-1) → h_2, c_t → c_3; backward h and c get ←.

    Backward, the previous state is the one after step t + 1 (it reads from the end).
    """
    prev = t + 1 if backward else t - 1

    def name(m: re.Match[str]) -> str:
        arrow = "←" if backward and m.group(1) in "hc" else ""
        return f"{m.group(1)}{arrow}_{t if m.group(2) == 't' else prev}"

    return _SYMBOL.sub(name, line)


def typeset(line: str) -> str:
    """A canonical line as the page sets it: spaced products and a true minus sign."""
    return line.replace("·", " · ").replace("(t-1)", "(t−1)")


RNN = CellSpec(
    name="rnn",
    display="RNN",
    torch_name="RNN",
    gates=(Gate("a", "pre-activation", "{act}", "h"),),
    equation_lines=("h_t = {act}(W_ih·x_t + b_ih + W_hh·h_(t-1) + b_hh)",),
    projected="",
    has_cell_state=False,
    has_nonlinearity=True,
)
GRU = CellSpec(
    name="gru",
    display="GRU",
    torch_name="GRU",
    gates=(
        Gate("r", "reset", "σ", "r"),
        Gate("z", "update", "σ", "z"),
        Gate("n", "new", "tanh", "n"),
    ),
    equation_lines=(
        "r_t = σ(W_ir·x_t + b_ir + W_hr·h_(t-1) + b_hr)",
        "z_t = σ(W_iz·x_t + b_iz + W_hz·h_(t-1) + b_hz)",
        "n_t = tanh(W_in·x_t + b_in + r_t ⊙ (W_hn·h_(t-1) + b_hn))",
        "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_(t-1)",
    ),
    projected="",
    has_cell_state=False,
    has_nonlinearity=False,
)
LSTM = CellSpec(
    name="lstm",
    display="LSTM",
    torch_name="LSTM",
    gates=(
        Gate("i", "input", "σ", "i"),
        Gate("f", "forget", "σ", "f"),
        Gate("g", "cell", "tanh", "g"),
        Gate("o", "output", "σ", "o"),
    ),
    equation_lines=(
        "i_t = σ(W_ii·x_t + b_ii + W_hi·h_(t-1) + b_hi)",
        "f_t = σ(W_if·x_t + b_if + W_hf·h_(t-1) + b_hf)",
        "g_t = tanh(W_ig·x_t + b_ig + W_hg·h_(t-1) + b_hg)",
        "o_t = σ(W_io·x_t + b_io + W_ho·h_(t-1) + b_ho)",
        "c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t",
        "h_t = o_t ⊙ tanh(c_t)",
    ),
    # PyTorch's LSTM with proj_size: h_t is projected to P values by weight_hr_l{k} (P × H), and
    # that P-wide h_t is what W_h· reads at the next step, the layer above reads and h_n holds.
    projected="h_t = W_hr·(o_t ⊙ tanh(c_t))",
    has_cell_state=True,
    has_nonlinearity=False,
)

CELL_SPECS: dict[str, CellSpec] = {spec.name: spec for spec in (RNN, LSTM, GRU)}
CELLS = tuple(CELL_SPECS)


def cell_spec(name: str) -> CellSpec:
    """The spec for a cell name (any case); an unknown name is a ConfigError naming it."""
    spec = CELL_SPECS.get(name.lower())
    if spec is None:
        raise ConfigError(f"unknown cell {name!r}: choose one of {', '.join(CELLS)}")
    return spec


def spec_of_layer(layer: Any) -> CellSpec:
    """The spec of a torch recurrent layer (nn.RNN, nn.GRU, nn.LSTM or a subclass), or of one
    of their cells (nn.RNNCell, nn.GRUCell, nn.LSTMCell: one step of the same equations).

    Matched on the classes the layer derives from, by name, so this module needs no torch.
    """
    for klass in type(layer).__mro__:
        if klass.__module__.startswith("torch.nn"):
            for spec in CELL_SPECS.values():
                if klass.__name__ in (spec.torch_name, spec.torch_name + "Cell"):
                    return spec
    raise ConfigError(
        f"{type(layer).__name__} is not nn.RNN, nn.GRU or nn.LSTM (nor one of their cells)"
    )
