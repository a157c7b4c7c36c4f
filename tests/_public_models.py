"""Recurrent models written here from their public definitions (re-typed, not vendored).

Sources:
  pytorch/examples   time_sequence_prediction/train.py               Sequence (two LSTMCells)
  pytorch/tutorials  intermediate_source/seq2seq_translation_tutorial.py
                                         EncoderRNN, BahdanauAttention, AttnDecoderRNN
  pytorch/tutorials  intermediate_source/char_rnn_generation_tutorial.py  RNN (nn.Linear loop)
  bentrevett/pytorch-seq2seq  1 - Sequence to Sequence Learning with Neural Networks
                                         Encoder, Decoder, Seq2Seq (teacher_forcing_ratio)
  udacity/deep-learning-v2-pytorch  sentiment-rnn                   SentimentRNN (nn.Sigmoid)

Each "broken" variant changes one line of its public original, as a user's mistake would; its
corrected twin is the original.
"""

from __future__ import annotations

import random
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ─── pytorch/examples time_sequence_prediction ─────────────────────────────────────────────


class Sequence(nn.Module):
    """Two stacked LSTMCells stepped over the columns of (B, T) values, then `future` steps on
    their own predictions. `mistake` plants one of the loop mistakes rnntrace finds."""

    def __init__(self, mistake: str = "") -> None:
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)
        self.mistake = mistake

    def forward(self, input: Tensor, future: int = 0) -> Tensor:
        outputs = []
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        output = input[:, :1]
        for i, input_t in enumerate(input.split(1, dim=1)):
            if self.mistake == "not_carried":  # the state is never passed back in
                h_t, c_t = self.lstm1(input_t)
            elif self.mistake == "c_dropped":  # c_t thrown away: the zeros every step
                h_t, _ = self.lstm1(input_t, (h_t, c_t))
            else:
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            if self.mistake == "reset" and i % 4 == 3:  # a re-initialisation left in the loop
                h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
                c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for _ in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


# ─── pytorch/tutorials seq2seq translation: attention decoder ──────────────────────────────

SOS_TOKEN = 0
MAX_LENGTH = 6


class EncoderRNN(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, dropout_p: float = 0.1) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input: Tensor) -> tuple[Tensor, Tensor]:
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query: Tensor, keys: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    """An nn.GRU called on one step at a time, with attention over the encoder's outputs."""

    def __init__(self, hidden_size: int, output_size: int, dropout_p: float = 0.1,
                 mistake: str = "") -> None:
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)
        self.mistake = mistake

    def forward(self, encoder_outputs: Tensor, encoder_hidden: Tensor,
                target_tensor: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_TOKEN)
        decoder_hidden = encoder_hidden
        decoder_outputs, attentions = [], []
        for i in range(MAX_LENGTH):
            decoder_output, new_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            if self.mistake != "not_carried":  # the mistake: every step from the encoder's
                decoder_hidden = new_hidden
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()
        outputs = F.log_softmax(torch.cat(decoder_outputs, dim=1), dim=-1)
        return outputs, decoder_hidden, torch.cat(attentions, dim=1)

    def forward_step(self, input: Tensor, hidden: Tensor,
                     encoder_outputs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


class Translator(nn.Module):
    """The tutorial's encoder and decoder called as its train_epoch/evaluate call them."""

    def __init__(self, n_in: int = 12, n_out: int = 10, hidden: int = 8,
                 mistake: str = "") -> None:
        super().__init__()
        self.encoder = EncoderRNN(n_in, hidden)
        self.decoder = AttnDecoderRNN(hidden, n_out, mistake=mistake)

    def forward(self, input_tensor: Tensor, target_tensor: Tensor | None = None) -> Any:
        encoder_outputs, encoder_hidden = self.encoder(input_tensor)
        return self.decoder(encoder_outputs, encoder_hidden, target_tensor)


# ─── bentrevett/pytorch-seq2seq 1: encoder–decoder with a teacher-forcing ratio ─────────────


class Encoder(nn.Module):
    def __init__(self, input_dim: int, emb_dim: int, hid_dim: int, n_layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: Tensor) -> tuple[Tensor, Tensor]:
        embedded = self.dropout(self.embedding(src))  # (src_len, B, E)
        _outputs, (hidden, cell) = self.rnn(embedded)
        return hidden, cell


class Decoder(nn.Module):
    def __init__(self, output_dim: int, emb_dim: int, hid_dim: int, n_layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.output_dim = output_dim
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.fc_out = nn.Linear(hid_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input: Tensor, hidden: Tensor,
                cell: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        input = input.unsqueeze(0)  # (1, B)
        embedded = self.dropout(self.embedding(input))  # (1, B, E)
        output, (hidden, cell) = self.rnn(embedded, (hidden, cell))
        prediction = self.fc_out(output.squeeze(0))  # (B, V)
        return prediction, hidden, cell


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab: int = 11, trg_vocab: int = 9, emb: int = 6, hid: int = 7,
                 n_layers: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.encoder = Encoder(src_vocab, emb, hid, n_layers, dropout)
        self.decoder = Decoder(trg_vocab, emb, hid, n_layers, dropout)

    def forward(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5) -> Tensor:
        trg_len, batch_size = trg.shape
        outputs = torch.zeros(trg_len, batch_size, self.decoder.output_dim)
        hidden, cell = self.encoder(src)
        input = trg[0, :]
        for t in range(1, trg_len):
            output, hidden, cell = self.decoder(input, hidden, cell)
            outputs[t] = output
            teacher_force = random.random() < teacher_forcing_ratio
            top1 = output.argmax(1)
            input = trg[t] if teacher_force else top1
        return outputs


# ─── Heads: a sigmoid sentiment classifier and a softmax-output classifier ─────────────────


class SentimentRNN(nn.Module):
    """udacity sentiment-rnn: per-step sigmoid over lstm_out.view(-1, H), the last one kept."""

    def __init__(self, vocab_size: int = 30, output_size: int = 1, embedding_dim: int = 8,
                 hidden_dim: int = 6, n_layers: int = 2, drop_prob: float = 0.5) -> None:
        super().__init__()
        self.output_size, self.n_layers, self.hidden_dim = output_size, n_layers, hidden_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, n_layers, dropout=drop_prob,
                            batch_first=True)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(hidden_dim, output_size)
        self.sig = nn.Sigmoid()

    def forward(self, x: Tensor, hidden: Any) -> tuple[Tensor, Any]:
        batch_size = x.size(0)
        embeds = self.embedding(x)
        lstm_out, hidden = self.lstm(embeds, hidden)
        lstm_out = lstm_out.contiguous().view(-1, self.hidden_dim)
        out = self.fc(self.dropout(lstm_out))
        sig_out = self.sig(out).view(batch_size, -1)[:, -1]
        return sig_out, hidden

    def init_hidden(self, batch_size: int) -> tuple[Tensor, Tensor]:
        shape = (self.n_layers, batch_size, self.hidden_dim)
        return torch.zeros(shape), torch.zeros(shape)


class SoftmaxClassifier(nn.Module):
    """A GRU classifier whose forward ends in nn.Softmax (the scores are probabilities)."""

    def __init__(self, n_features: int = 4, hidden: int = 6, n_classes: int = 3) -> None:
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, n_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        _, h_n = self.gru(x)
        return self.softmax(self.fc(h_n[-1]))


class GRUCellClassifier(nn.Module):
    """A GRUCell stepped over (B, T, F) by hand, then a linear head on the last state."""

    def __init__(self, n_features: int = 3, hidden: int = 5, n_classes: int = 2) -> None:
        super().__init__()
        self.cell = nn.GRUCell(n_features, hidden)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.zeros(x.size(0), self.cell.hidden_size)
        for t in range(x.size(1)):
            h = self.cell(x[:, t], h)
        return self.head(h)


class PackedWithPaddedLengths(nn.Module):
    """An LSTM over a packed batch; `padded` packs with the padded length for every sequence."""

    def __init__(self, padded: bool = False) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 5, padding_idx=0)
        self.lstm = nn.LSTM(5, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)
        self.padded = padded

    def forward(self, tokens: Tensor) -> Tensor:
        lengths = (tokens != 0).sum(1)
        if self.padded:  # the collate's mistake: every sequence "as long as the batch"
            lengths = torch.full_like(lengths, tokens.size(1))
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h_n, _) = self.lstm(packed)
        return self.fc(h_n[-1])


# ─── pytorch/tutorials char_rnn_generation_tutorial: a recurrence built from nn.Linear ─────

N_LETTERS, N_CATEGORIES = 59, 18  # the tutorial's letters (+ EOS) and languages


class CharRNN(nn.Module):
    """The tutorial's RNN: one step per call, the hidden state fed back by the caller."""

    def __init__(self, input_size: int = N_LETTERS, hidden_size: int = 16,
                 output_size: int = N_LETTERS) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(N_CATEGORIES + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(N_CATEGORIES + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category: Tensor, input: Tensor,
                hidden: Tensor) -> tuple[Tensor, Tensor]:
        input_combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(input_combined)
        output = self.i2o(input_combined)
        output_combined = torch.cat((hidden, output), 1)
        output = self.o2o(output_combined)
        output = self.dropout(output)
        output = self.softmax(output)
        return output, hidden


class NameScorer(nn.Module):
    """The tutorial's train(): the RNN over a name's letters, one call per letter, the
    log-probabilities of every step stacked. `fed_back=False` starts each step from zeros."""

    def __init__(self, fed_back: bool = True) -> None:
        super().__init__()
        self.rnn = CharRNN()
        self.fed_back = fed_back

    def forward(self, category: Tensor, letters: Tensor) -> Tensor:  # (1, C), (T, 1, L)
        hidden = torch.zeros(1, self.rnn.hidden_size)
        outputs = []
        for i in range(letters.size(0)):
            output, new_hidden = self.rnn(category, letters[i], hidden)
            if self.fed_back:
                hidden = new_hidden
            outputs.append(output)
        return torch.stack(outputs, dim=1)  # (1, T, L)
