"""The concept each question template practises: what mastery is counted per, and tags in exports.

A learner is proficient at a concept, not at a template: "h_n layout" is practised by the h_n,
h0 and bidirectional questions alike. Every template in the bank (and the text model's) has
exactly one concept here; `tests/test_learn.py` checks no template is left out.
"""

from __future__ import annotations

# concept -> what it covers, in a few words (`rnntrace learn` says it when it sends you to practise)
CONCEPTS: dict[str, str] = {
    "shapes": "the shapes a recurrent layer takes and returns",
    "batch_first": "which tensors batch_first lays out, and which it leaves alone",
    "h_n layout": "how h_n and h0 stack layers and directions",
    "gates": "what the cell computes at each step: gates and equations",
    "padding and packing": "the last real step of a padded batch",
    "parameter counts": "how many weights a layer holds and where they come from",
    "summaries": "what the classifier reads from the layer: the summary of a sequence",
    "embeddings": "the Embedding that turns token ids into vectors",
    "training": "why recurrent training clips gradients",
}

TEMPLATE_CONCEPT: dict[str, str] = {
    "output_shape": "shapes",
    "c_n_shape": "shapes",
    "h_n_shape": "h_n layout",
    "layers_directions": "h_n layout",
    "h0_shape": "h_n layout",
    "batch_first_ignored": "batch_first",
    "constructor_order": "parameter counts",
    "weight_sharing": "parameter counts",
    "gate_multiplier": "parameter counts",
    "param_count": "parameter counts",
    "concept_memory": "gates",
    "rnn_equation": "gates",
    "mismatch_error": "shapes",
    "last_state_index": "padding and packing",
    "variable_lengths_code": "padding and packing",
    "classifier_input": "summaries",
    "bidirectional_last": "summaries",
    "concept_clipping": "training",
    "embedding_shape": "embeddings",
    "vocabulary_size": "embeddings",
    "padding_index": "embeddings",
    "model_parameters": "parameter counts",
}


def concept_of(template: str) -> str:
    """The concept a template practises.

    A template missing from the map (a new one, before its line here) is its own concept, so
    the quiz and the learner's levels keep working; tests/test_learn.py fails until it is added.
    """
    return TEMPLATE_CONCEPT.get(template, template.replace("_", " "))


def tag(concept: str) -> str:
    """A concept as a tag without spaces (Anki and Moodle split tags on them)."""
    return concept.replace(" ", "-")
