"""Conceptual templates: what an RNN computes at each step, what its state remembers, why clip."""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
from torch import Tensor

from rnntrace.config.cells import GRU, LSTM, RNN
from rnntrace.config.settings import ModelConfig
from rnntrace.quiz.draft import Draft, four_options, steps
from rnntrace.quiz.setting import Setting
from rnntrace.quiz.verify import agree, build, seeded

Step = Callable[[Tensor, Tensor], Tensor]  # (x_t (F,), h_{t-1} (H,)) -> h_t (H,)


# How every step-equation question's options were checked (each against a real layer).
RECOMPUTED = "recomputed every option step by step with the weights of a real "


def _check_sequence(features: int) -> Tensor:
    """The seeded sequence every option is recomputed on, (1, 6, F) in float64, so that "no
    tanh" cannot pass for tanh on small values by float32 rounding; scaled by 2 so that the
    nonlinearities bend."""
    with seeded():
        return 2 * torch.randn(1, 6, features, dtype=torch.float64)


def rnn_equation(s: Setting, rng: random.Random) -> Draft:
    """What the model's own cell computes at each step: nn.RNN's state, nn.GRU's update, or
    nn.LSTM's cell state; every option recomputed step by step against the real layer."""
    if s.model.cell == GRU.name:
        return _gru_update(s, rng)
    if s.model.cell == LSTM.name:
        return _lstm_cell(s, rng)
    f, h = s.model.n_features, s.model.hidden_size
    # float64, so that "no tanh" cannot pass for tanh on small values by float32 rounding.
    layer = build(ModelConfig(n_features=f, hidden_size=h, cell=RNN.name)).double()
    w_ih, w_hh = layer.get_parameter("weight_ih_l0"), layer.get_parameter("weight_hh_l0")
    b_ih, b_hh = layer.get_parameter("bias_ih_l0"), layer.get_parameter("bias_hh_l0")

    # W_ih (H, F), W_hh (H, H), b_ih and b_hh (H,)

    def affine(x: Tensor, prev: Tensor) -> Tensor:
        return w_ih @ x + b_ih + w_hh @ prev + b_hh  # (H,)

    candidates: dict[str, Step] = {
        "h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)": lambda x, p: torch.tanh(affine(x, p)),
        "h_t = tanh(W_ih·x_t + b_ih)": lambda x, p: torch.tanh(w_ih @ x + b_ih),
        "h_t = W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh": affine,
        "h_t = sigmoid(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)":
            lambda x, p: torch.sigmoid(affine(x, p)),
        "h_t = h_{t−1} + tanh(W_ih·x_t + b_ih)": lambda x, p: p + torch.tanh(w_ih @ x + b_ih),
    }
    key = next(iter(candidates))
    options, answer = four_options(key, list(candidates)[1:], rng)
    x = _check_sequence(f)  # (B=1, T=6, F)
    with torch.no_grad():
        output, _ = layer(x)  # (1, T, H)

        def reproduces(formula: str) -> bool:
            prev = torch.zeros(h, dtype=torch.float64)
            for t in range(x.size(1)):
                prev = candidates[formula](x[0, t], prev)
                if not torch.allclose(prev, output[0, t], rtol=0, atol=1e-10):
                    return False
            return True

        agree("formulas that reproduce nn.RNN", [answer],
              [i for i, o in enumerate(options) if reproduces(o)])
    return Draft(
        prompt=f"What does `nn.RNN({f}, {h})` (default tanh) compute at each time step t?",
        options=options,
        answer=answer,
        hint="The new state mixes the current input with the previous state, then squashes it.",
        solution=steps(
            "The input x_t enters through W_ih (H × F) and the previous state h_{t−1} through "
            "W_hh (H × H); PyTorch adds a bias to each.",
            "The sum goes through tanh, which keeps every value in (−1, 1).",
            "Without W_hh·h_{t−1} there is no memory; without tanh the state can grow unbounded.",
            final=key,
        ),
        verified_by=RECOMPUTED
        + f"nn.RNN({f}, {h}) on a random sequence; only the key reproduced its output",
    )


Gates = dict[str, Tensor]  # a step's gate values by name, each (H,)


def _gate_values(layer: torch.nn.RNNBase, names: str, x: Tensor, prev: Tensor) -> Gates:
    """Each gate's pre-activation W_i·x_t + b_i + W_h·h_{t−1} + b_h, in PyTorch's row order
    (GRU: r, z, n; LSTM: i, f, g, o), split per gate; n keeps its two halves apart, for
    r_t multiplies only the hidden half."""
    w_ih, w_hh = layer.get_parameter("weight_ih_l0"), layer.get_parameter("weight_hh_l0")
    b_ih, b_hh = layer.get_parameter("bias_ih_l0"), layer.get_parameter("bias_hh_l0")
    from_x = (w_ih @ x + b_ih).chunk(len(names))  # (G·H,) → G × (H,)
    from_h = (w_hh @ prev + b_hh).chunk(len(names))
    out = {name: a + b for name, a, b in zip(names, from_x, from_h, strict=True)}
    out.update({f"{name}_x": a for name, a in zip(names, from_x, strict=True)})
    out.update({f"{name}_h": b for name, b in zip(names, from_h, strict=True)})
    return out


def _four_of(key: str, mistakes: list[str], rng: random.Random) -> tuple[list[str], int]:
    """The key and three of the mistakes, drawn by `rng` so that quizzes vary."""
    return four_options(key, rng.sample(mistakes, 3), rng)


def _gru_update(s: Setting, rng: random.Random) -> Draft:
    f, h = s.model.n_features, s.model.hidden_size
    layer = build(ModelConfig(n_features=f, hidden_size=h, cell=GRU.name)).double()
    Update = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]  # (r, z, n, h_{t−1}) → h_t
    candidates: dict[str, Update] = {
        "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}": lambda r, z, n, p: (1 - z) * n + z * p,
        # The other convention for z (Chung et al. 2014): right there, not in PyTorch.
        "h_t = z_t ⊙ n_t + (1 − z_t) ⊙ h_{t−1}": lambda r, z, n, p: z * n + (1 - z) * p,
        "h_t = n_t": lambda r, z, n, p: n,
        "h_t = h_{t−1} + z_t ⊙ n_t": lambda r, z, n, p: p + z * n,
        "h_t = (1 − r_t) ⊙ n_t + r_t ⊙ h_{t−1}": lambda r, z, n, p: (1 - r) * n + r * p,
    }
    key, *mistakes = candidates
    options, answer = _four_of(key, mistakes, rng)
    x = _check_sequence(f)  # (B=1, T=6, F)
    with torch.no_grad():
        output, _ = layer(x)  # (1, T, H)

        def reproduces(formula: str) -> bool:
            prev = torch.zeros(h, dtype=torch.float64)
            for t in range(x.size(1)):
                g = _gate_values(layer, "rzn", x[0, t], prev)
                r, z = torch.sigmoid(g["r"]), torch.sigmoid(g["z"])
                n = torch.tanh(g["n_x"] + r * g["n_h"])
                prev = candidates[formula](r, z, n, prev)
                if not torch.allclose(prev, output[0, t], rtol=0, atol=1e-10):
                    return False
            return True

        agree("updates that reproduce nn.GRU", [answer],
              [i for i, o in enumerate(options) if reproduces(o)])
    return Draft(
        prompt=(f"At each step t, `nn.GRU({f}, {h})` computes the reset gate r_t and the update "
                "gate z_t (sigmoids of W_i·x_t + b_i + W_h·h_{t−1} + b_h) and the candidate "
                "n_t = tanh(W_in·x_t + b_in + r_t ⊙ (W_hn·h_{t−1} + b_hn)). Which update gives "
                "its new state h_t?"),
        options=options,
        answer=answer,
        hint="In PyTorch z_t is the share of the old state that is kept.",
        solution=steps(
            "z_t near 1 keeps h_{t−1} (the unit remembers); z_t near 0 takes the candidate n_t.",
            "So h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}: a per-unit blend, no squashing after it.",
            "Some texts (Chung et al. 2014) swap z_t and 1 − z_t; PyTorch's is the one above. "
            "r_t acts inside n_t only, on the old state's contribution.",
            final=key,
        ),
        verified_by=RECOMPUTED
        + f"nn.GRU({f}, {h}) on a random sequence; only the key reproduced its output",
    )


def _lstm_cell(s: Setting, rng: random.Random) -> Draft:
    f, h = s.model.n_features, s.model.hidden_size
    layer = build(ModelConfig(n_features=f, hidden_size=h, cell=LSTM.name)).double()
    Cell = Callable[[Gates, Tensor], Tensor]  # (gates after σ/tanh, c_{t−1}) → c_t
    candidates: dict[str, Cell] = {
        "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t": lambda a, c: a["f"] * c + a["i"] * a["g"],
        "c_t = i_t ⊙ c_{t−1} + f_t ⊙ g_t": lambda a, c: a["i"] * c + a["f"] * a["g"],
        # The 1997 LSTM had no forget gate: the cell only adds.
        "c_t = c_{t−1} + i_t ⊙ g_t": lambda a, c: c + a["i"] * a["g"],
        "c_t = f_t ⊙ c_{t−1} + g_t": lambda a, c: a["f"] * c + a["g"],
        "c_t = o_t ⊙ c_{t−1} + i_t ⊙ g_t": lambda a, c: a["o"] * c + a["i"] * a["g"],
    }
    key, *mistakes = candidates
    options, answer = _four_of(key, mistakes, rng)
    x = _check_sequence(f)  # (B=1, T=6, F)
    with torch.no_grad():
        output, (_, c_n) = layer(x)  # (1, T, H), c_n (1, 1, H)

        def reproduces(formula: str) -> bool:
            prev = torch.zeros(h, dtype=torch.float64)
            cell = torch.zeros(h, dtype=torch.float64)
            for t in range(x.size(1)):
                g = _gate_values(layer, "ifgo", x[0, t], prev)
                after = {k: torch.sigmoid(g[k]) for k in "ifo"} | {"g": torch.tanh(g["g"])}
                cell = candidates[formula](after, cell)
                prev = after["o"] * torch.tanh(cell)
                if not torch.allclose(prev, output[0, t], rtol=0, atol=1e-10):
                    return False
            return bool(torch.allclose(cell, c_n[0, 0], rtol=0, atol=1e-10))

        agree("cell updates that reproduce nn.LSTM", [answer],
              [i for i, o in enumerate(options) if reproduces(o)])
    return Draft(
        prompt=(f"At each step t, `nn.LSTM({f}, {h})` computes the gates i_t, f_t, o_t "
                "(sigmoids) and g_t (tanh), each of W_i·x_t + b_i + W_h·h_{t−1} + b_h, and "
                "returns h_t = o_t ⊙ tanh(c_t). Which update gives its cell state c_t?"),
        options=options,
        answer=answer,
        hint="One gate decides what of the old cell stays, another what of the new input enters.",
        solution=steps(
            "The forget gate f_t scales the old cell c_{t−1}: what is kept.",
            "The input gate i_t scales the candidate g_t: what is written.",
            "Their sum is c_t; the output gate o_t then reads it through tanh into h_t. The "
            "sum, not a product, is what lets the gradient pass back through many steps.",
            final=key,
        ),
        verified_by=RECOMPUTED
        + f"nn.LSTM({f}, {h}) on a random sequence (h_t and c_n); only the key reproduced them",
    )


def concept_memory(s: Setting, rng: random.Random) -> Draft:
    uni = s.with_model(bidirectional=False, num_layers=1)
    m = uni.model
    layer = build(m)
    steps_n, t = 5, 1
    with seeded():
        x = torch.randn(1, steps_n, m.n_features)  # (1, T, F), batch first for the check

    def state_at_t(seq: Tensor) -> Tensor:
        data = seq if m.batch_first else seq.transpose(0, 1)
        with torch.no_grad():
            out, _ = layer(data)
        state: Tensor = out[0, t] if m.batch_first else out[t, 0]  # (H,)
        return state

    base = state_at_t(x)
    earlier, later = x.clone(), x.clone()
    earlier[0, 0] += 1.0
    later[0, t + 1] += 1.0
    before = [p.detach().clone() for p in layer.parameters()]
    # Exact comparisons: any influence at all counts, however small the weights make it.
    remembers_past = not torch.equal(state_at_t(earlier), base)
    sees_future = not torch.equal(state_at_t(later), base)
    after = list(layer.parameters())
    weights_moved = any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    agree("h_t depends on x_0", True, remembers_past)
    agree("h_t depends on x_{t+1}", False, sees_future)
    agree("the forward pass changes the weights", False, weights_moved)
    agree("h_t width", m.state_size, int(base.numel()))
    key = f"Everything read so far, x_0 … x_t, compressed into {m.state_size} numbers"
    mistakes = [
        "Only the current input x_t",
        "The whole sequence, including the steps after t",
        "The weights W_hh, updated as each step is read",
        f"The probability of each of the {m.n_classes} classes at step t",
    ]
    rng.shuffle(mistakes)
    options, answer = four_options(key, mistakes, rng)
    return Draft(
        prompt=f"In a unidirectional `{uni.layer_code()}`, what does the hidden state h_t hold?",
        options=options,
        answer=answer,
        hint="h_t is computed from x_t and h_{t−1}, and h_{t−1} from x_{t−1} and h_{t−2} …",
        solution=steps(
            "h_t = f(x_t, h_{t−1}); unrolling it, h_t depends on x_0 … x_t and nothing later.",
            f"It is a vector of {'proj_size' if m.proj_size else 'hidden_size'} = "
            f"{m.state_size} numbers: a fixed-size summary of "
            "the past, not class scores (the Linear layer makes those).",
            "The weights stay fixed during the forward pass; only training changes them.",
            final=key,
        ),
        verified_by="nudged x_0 and x_{t+1} of a real sequence: h_t moved with x_0, not with "
        "x_{t+1}; the weights were unchanged by the forward pass",
    )


def concept_clipping(s: Setting, rng: random.Random) -> Draft:
    key = ("Backpropagation through time multiplies by W_hh once per step, so gradients can "
           "grow exponentially and blow up training")
    mistakes = [
        "It keeps the hidden state inside (−1, 1)",
        "It makes the forward pass faster on long sequences",
        "Padding steps give NaN gradients, and clipping removes them",
        "It stops the model from memorising the training set",
    ]
    rng.shuffle(mistakes)
    options, answer = four_options(key, mistakes, rng)
    return Draft(
        prompt=f"Training `{s.layer_code()}` on sequences of {s.steps} steps, why do we clip the "
        "gradient norm (torch.nn.utils.clip_grad_norm_)?",
        options=options,
        answer=answer,
        hint="Think of the chain rule through T copies of the same recurrent matrix.",
        solution=steps(
            "The gradient reaching step 0 passes through every step's ∂h_t/∂h_{t−1}, each "
            "involving W_hh: a product of T matrices.",
            "If their norms exceed 1 the product grows exponentially with T (exploding "
            "gradients); one huge step can wreck the weights.",
            "Clipping rescales the whole gradient when its norm passes a threshold; tanh, not "
            "clipping, bounds the hidden state.",
            final=key,
        ),
        verified_by="reasoning only: a fact about training dynamics, not a value one forward "
        "pass returns",
    )
