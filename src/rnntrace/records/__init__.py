"""Records: everything rnntrace learns, as plain JSON-ready dataclasses (no torch, no numpy).

The Trace (`trace.py`) holds a run; its parts live beside it by what they describe (`layers`,
`training`, `prediction`, `quiz`); the Explanation (`explanation.py`) holds why a model decided.
A record shows itself through its view (`shown.py`). This package's names are importable from
here, `from rnntrace.records import Trace`, or from their own module.
"""

from rnntrace._deprecated import renamed_getattr
from rnntrace.records.decoding import DecoderStep, DecoderTrace
from rnntrace.records.explanation import (
    EXPLAIN_SCHEMA_VERSION,
    Attribution,
    Completeness,
    Explanation,
    GateTerms,
    HardCase,
    LayerTerms,
    PathJump,
    PlantedCheck,
    StepOcclusion,
    StepTerms,
    UnitPeak,
    UnitResponse,
    UnitSummary,
)
from rnntrace.records.heads import HeadExample, HeadReport, ScoredSet, ScoreLine
from rnntrace.records.layers import (
    Dynamics,
    Finding,
    ModuleCall,
    ModuleCalls,
    Recomputation,
    RecurrentLayer,
    ShapeLine,
    ShapeReport,
    Stage,
    StepRecord,
    TensorInfo,
)
from rnntrace.records.prediction import PredictionTrace, SummaryTrace, TokenExample, TokenTrace
from rnntrace.records.quiz import QUIZ_LEVELS, Question
from rnntrace.records.serial import Nested, from_dict
from rnntrace.records.shown import Shown
from rnntrace.records.trace import SCHEMA_VERSION, Trace, upgrade
from rnntrace.records.training import (
    Averaging,
    CandidateScore,
    Choice,
    ClassScore,
    EpochEnd,
    EpochRecord,
    History,
    TestReport,
)

__all__ = [
    "EXPLAIN_SCHEMA_VERSION", "QUIZ_LEVELS", "SCHEMA_VERSION", "Attribution", "Averaging",
    "CandidateScore", "Choice", "ClassScore", "Completeness", "DecoderStep", "DecoderTrace",
    "Dynamics", "EpochEnd",
    "EpochRecord", "Explanation", "Finding", "GateTerms", "HardCase", "HeadExample",
    "HeadReport", "History", "LayerTerms",
    "ModuleCall", "ModuleCalls", "Nested", "PathJump", "PlantedCheck", "PredictionTrace",
    "Question", "Recomputation", "RecurrentLayer", "ScoreLine", "ScoredSet", "ShapeLine",
    "ShapeReport", "Shown", "Stage",
    "StepOcclusion", "StepRecord", "StepTerms", "SummaryTrace", "TensorInfo", "TestReport",
    "TokenExample", "TokenTrace", "Trace", "UnitPeak", "UnitResponse", "UnitSummary",
    "from_dict", "upgrade",
]

# Old names kept for one release.
__getattr__ = renamed_getattr(__name__, {"DataFlow": "ModuleCalls"}, globals())
