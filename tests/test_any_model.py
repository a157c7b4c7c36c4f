"""rt.trace on other people's models, written here from their public definitions.

Each model is traced and every recurrent call recomputed by hand; the Trace must agree with
PyTorch to 1e-5, and its prediction with the model's own output.

Sources (re-typed, not vendored):
  pytorch/tutorials  intermediate_source/char_rnn_classification_tutorial.py  CharRNN
  pytorch/examples   word_language_model/model.py                            RNNModel
  TylerYep/torchinfo tests/fixtures/models.py                                LSTMNet, PackPaddedLSTM
"""

from __future__ import annotations

import string
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnntrace as rt
from rnntrace.records import Trace

TOL = 1e-5


class CharRNN(nn.Module):
    """The tutorial's name classifier: nn.RNN over one-hot letters, sequence-first, batch 1."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor: Tensor) -> Tensor:
        _rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        return self.softmax(output)


ALL_LETTERS = string.ascii_letters + " .,;'"


def line_to_tensor(line: str) -> Tensor:
    """One-hot letters, (len(line), 1, n_letters), as the tutorial's lineToTensor."""
    tensor = torch.zeros(len(line), 1, len(ALL_LETTERS))
    for i, letter in enumerate(line):
        tensor[i][0][ALL_LETTERS.find(letter)] = 1
    return tensor


class RNNModel(nn.Module):
    """pytorch/examples' word language model: Embedding, a recurrent stack, a decoder."""

    def __init__(self, rnn_type: str, ntoken: int, ninp: int, nhid: int, nlayers: int,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn: nn.RNNBase
        if rnn_type in ("LSTM", "GRU"):
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def forward(self, input: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz: int) -> Any:
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


class LSTMNet(nn.Module):
    """torchinfo's LSTMNet fixture: Embedding, a 2-layer batch_first LSTM, a decoder."""

    def __init__(self, vocab_size: int = 20, embed_dim: int = 300, hidden_dim: int = 512,
                 num_layers: int = 2) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.encoder = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.decoder = nn.Linear(hidden_dim, vocab_size)

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        embed = self.embedding(x)
        out, hidden = self.encoder(embed)
        out = self.decoder(out)
        out = out.view(-1, out.size(2))
        return out, hidden


class PackPaddedLSTM(nn.Module):
    """torchinfo's PackPaddedLSTM fixture: a packed batch with (h_0, c_0) of ones."""

    def __init__(self, vocab_size: int = 60, embedding_size: int = 128, output_size: int = 18,
                 hidden_size: int = 32) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.lstm = nn.LSTM(embedding_size, self.hidden_size, num_layers=1)
        self.hidden2out = nn.Linear(self.hidden_size, output_size)
        self.dropout_layer = nn.Dropout(p=0.2)

    def forward(self, batch: Tensor, lengths: Tensor) -> Tensor:
        hidden1 = torch.ones(1, batch.size(-1), self.hidden_size, device=batch.device)
        hidden2 = torch.ones(1, batch.size(-1), self.hidden_size, device=batch.device)
        embeds = self.embedding(batch)
        packed_input = pack_padded_sequence(embeds, lengths)
        _, (ht, _) = self.lstm(packed_input, (hidden1, hidden2))
        output = self.dropout_layer(ht[-1])
        output = self.hidden2out(output)
        return F.log_softmax(output, dim=1)


class ProjectedLSTM(nn.Module):
    """An LSTM with proj_size: h is 3 wide, c stays 8 wide."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, 8, proj_size=3, batch_first=True)
        self.head = nn.Linear(3, 4)

    def forward(self, x: Tensor) -> Tensor:
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])


class Encoder(nn.Module):
    """A 2-layer bidirectional GRU over a packed batch, returning both top directions."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(6, 5, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)
        return torch.cat([h_n[-2], h_n[-1]], dim=1)  # (B, 2H)


class Wrapped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.ModuleDict({"encoder": Encoder()})
        self.head = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 3))

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        return self.head(self.body["encoder"](x, lengths))


def _all_checked(trace: Trace) -> float:
    """The largest difference anywhere in the Trace; every recurrent call must be in it."""
    assert trace.layers, "no recurrent layer traced"
    for layer in trace.layers:
        assert layer.recomputation.matches, layer
    worst = max(layer.recomputation.max_abs_diff for layer in trace.layers)
    return max([worst, *(s.max_abs_diff for s in trace.steps)])


def _prediction_is_models(trace: Trace, scores: Tensor) -> None:
    p = trace.prediction
    assert p is not None
    expected = torch.softmax(scores[0].double(), dim=0)
    assert torch.allclose(torch.tensor(p.probabilities, dtype=torch.float64), expected, atol=1e-6)
    assert p.predicted == int(scores[0].argmax())


def test_char_rnn_classifier_one_hot_sequence_first() -> None:
    torch.manual_seed(0)
    model = CharRNN(len(ALL_LETTERS), 32, 18)
    line = line_to_tensor("Albert")  # (6, 1, 57)
    trace = rt.trace(model, line)
    assert _all_checked(trace) <= TOL
    assert len(trace.steps) == 6 and trace.steps[0].x == line[0, 0].tolist()
    assert trace.layers[0].reading == "6 steps × batch 1 × 57 features"
    _prediction_is_models(trace, model(line))
    assert trace.module_calls is not None and trace.module_calls.findings == []
    assert trace.dynamics is not None and trace.dynamics.logits_diff < 1e-5


@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU", "RNN_TANH"])
def test_word_language_model(rnn_type: str) -> None:
    torch.manual_seed(0)
    model = RNNModel(rnn_type, ntoken=50, ninp=16, nhid=12, nlayers=2)
    tokens = torch.randint(0, 50, (9, 4))  # (bptt, batch): sequence-first
    hidden = model.init_hidden(4)
    trace = rt.trace(model, tokens, hidden)
    assert _all_checked(trace) <= TOL
    (layer,) = trace.layers
    assert layer.reading == "9 steps × batch 4 × 16 features"
    # the steps read the embedding of sequence 0's tokens, as the model looked them up
    embedded = model.encoder(tokens[:, 0])
    assert torch.allclose(torch.tensor([s.x for s in trace.steps]), embedded, atol=1e-6)
    assert trace.module_calls is not None and trace.module_calls.findings == []


def test_word_language_model_is_left_as_it_was() -> None:
    model = RNNModel("LSTM", 30, 8, 6, 2)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rt.trace(model, torch.randint(0, 30, (5, 2)), model.init_hidden(2))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_torchinfo_lstm_net() -> None:
    torch.manual_seed(0)
    model = LSTMNet()
    x = torch.randint(0, 20, (1, 24))
    trace = rt.trace(model, x)
    assert _all_checked(trace) <= TOL
    assert trace.recomputation is not None and trace.recomputation.num_layers == 2
    assert trace.layers[0].reading == "batch 1 × 24 steps × 300 features"


def test_torchinfo_pack_padded_lstm() -> None:
    torch.manual_seed(0)
    model = PackPaddedLSTM()
    lengths = torch.tensor([7, 5, 4, 2])  # sorted, as pack_padded_sequence's default wants
    batch = torch.randint(1, 60, (7, 4))  # (T, B), sequence-first
    for b, n in enumerate(lengths):
        batch[n:, b] = 0
    trace = rt.trace(model, batch, lengths)
    assert _all_checked(trace) <= TOL
    (layer,) = trace.layers
    assert layer.reading.startswith("packed: 4 sequences of lengths 7, 5, 4, 2")
    _prediction_is_models(trace, model.eval()(batch, lengths))
    # the step table starts from the model's own h_0 of ones
    assert trace.steps[0].h_prev == [1.0] * 32
    findings = trace.module_calls.findings if trace.module_calls else []
    assert findings == []


def test_lstm_with_proj_size() -> None:
    torch.manual_seed(0)
    model = ProjectedLSTM()
    x = torch.randn(3, 6, 5)
    trace = rt.trace(model, x)
    assert _all_checked(trace) <= TOL
    assert trace.layers[0].proj_size == 3
    assert len(trace.steps[0].h) == 3 and trace.steps[0].c is not None
    assert len(trace.steps[0].c) == 8
    _prediction_is_models(trace, model(x))


def test_bidirectional_gru_packed_inside_wrappers() -> None:
    torch.manual_seed(0)
    model = Wrapped()
    lengths = torch.tensor([3, 7, 5, 1])
    x = torch.randn(4, 7, 6)
    for b, n in enumerate(lengths):
        x[b, n:] = 0
    trace = rt.trace(model, x, lengths, labels=torch.tensor([0, 1, 2, 1]))
    assert _all_checked(trace) <= TOL
    (layer,) = trace.layers
    assert layer.name == "body.encoder.gru"
    assert trace.recomputation is not None and trace.recomputation.bidirectional
    # sequence 0 is 3 steps long: the steps and the prediction follow its real steps only
    assert len(trace.steps) == 3
    p = trace.prediction
    assert p is not None and p.length == 3 and p.true_class == 0
    # the hidden states are the top layer's, both directions, as PyTorch computed them
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = pad_packed_sequence(model.body["encoder"].gru(packed)[0], batch_first=True)
    assert torch.allclose(torch.tensor(p.hidden_states), out[0, :3], atol=1e-6)
    _prediction_is_models(trace, model(x, lengths))
    assert trace.module_calls is not None and trace.module_calls.findings == []
    d = trace.dynamics
    assert d is not None and len(d.grad_norm) == 2 and d.logits_diff < 1e-5


def test_a_model_without_recurrent_layer_is_refused() -> None:
    with pytest.raises(rt.RnnTraceError, match=r"Linear has no recurrent layer or cell"):
        rt.trace(nn.Linear(3, 2), torch.zeros(1, 3))


class ConvThenLSTM(nn.Module):
    """A Conv1d front end over (B, F, T), then an LSTM over the conv's channels as features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, kernel_size=3, padding=1)
        self.lstm = nn.LSTM(6, 5, batch_first=True)
        self.out = nn.Linear(5, 3)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T, F)
        z = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (B, T, 6)
        _, (h_n, _) = self.lstm(z)
        return self.out(h_n[-1])


def test_conv_front_end_and_json_round_trip(tmp_path: Any) -> None:
    torch.manual_seed(0)
    model = ConvThenLSTM()
    x = torch.randn(3, 8, 4)
    trace = rt.trace(model, x)
    assert _all_checked(trace) <= TOL
    # the steps read what the conv produced, not the raw input
    z = torch.relu(model.conv(x.transpose(1, 2))).transpose(1, 2)
    assert torch.allclose(torch.tensor(trace.steps[0].x), z[0, 0], atol=1e-6)
    again = Trace.from_json(trace.to_json())
    assert again == trace and again.config is None
    from rnntrace.render.html import render_report

    assert render_report(again) == render_report(trace)
