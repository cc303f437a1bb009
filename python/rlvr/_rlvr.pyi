"""Type stubs of the extension module `rlvr._rlvr` (re-exported by `rlvr`)."""

from os import PathLike
from typing import Any, Mapping, Optional, Sequence, TypedDict, Union

__version__: str
INSTALL_COMMAND: str
MAX_VALUE_DEPTH: int

class RlvrError(ValueError):
    """An engine error (bad recipe, bad limits, bad arguments), with the engine's message."""

class ComponentScore(TypedDict, total=False):
    score: float
    weight: float
    length_unit: str

class Outcome(TypedDict):
    """One result, exactly an `rlvr score` output line."""

    id: Any
    reward: float
    correct: bool
    verdict: str  # correct | incorrect | no_answer | invalid_gold | limit_exceeded | error
    components: dict[str, ComponentScore]
    extracted: Optional[str]
    error: Optional[str]

class Check(TypedDict):
    """A verdict explained, as `rlvr math --json` prints it."""

    verdict: str
    extracted: Optional[str]
    gold_parsed: Optional[str]
    pred_parsed: Optional[str]
    reason: str

class Engine:
    """Scores batches of samples in parallel (the `rlvr score` contract).

    recipes: a directory of extra recipe files (`*.toml`), added to the built-in ones.
    threads: scoring threads of this engine's own pool (default: the shared pool, one per core).
    limits: math limits (`max_answer_bytes`, `max_depth`, `max_nodes`, `max_integer_bits`,
        `max_factorial`, `max_list_items`, `max_intervals`) and code limits (the fields of a sample's `tests.limits`:
        `fuel`, `wall_ms`, `memory_bytes`, ...); an unknown key raises `RlvrError`.
    default_recipe: the recipe of samples that name none (default: `math` with an `answer`,
        `code` with `tests`).
    """

    def __init__(
        self,
        recipes: Union[str, "PathLike[str]", None] = None,
        threads: Optional[int] = None,
        limits: Optional[Mapping[str, Any]] = None,
        default_recipe: Optional[str] = None,
    ) -> None: ...
    def score(self, samples: Sequence[Mapping[str, Any]]) -> list[Outcome]:
        """One result per sample, in order; a malformed sample gets an `error` result. The GIL is
        released while the batch is scored; safe to call from many threads at once."""
    def recipes(self) -> list[str]:
        """The names of the recipes this engine knows."""
    def code_judgements(self) -> int:
        """Code judgements run so far (identical submissions of one batch count once)."""
    @property
    def threads(self) -> int:
        """Scoring threads available to this engine."""

def verify(gold: str, prediction: str) -> bool:
    """Whether `prediction` (a bare answer or a whole completion) is equivalent to `gold`."""

def check(gold: str, prediction: str) -> Check:
    """The verdict with the extracted answer and the reason, as `rlvr math` explains it."""

def extract_answer(completion: str) -> Optional[str]:
    """The final answer the engine reads from a completion, or None."""

def gold_parses(gold: str) -> bool:
    """Whether `gold` parses as a gold answer."""

def openrlhf_response(query: str, prompt: Optional[str] = None) -> str:
    """The response inside an OpenRLHF query, by the server's `/get_reward` rule; `ValueError`
    when it cannot be told apart from the prompt."""

def extract_gold(gold: str) -> str:
    """The answer text the engine reads from a gold (`\\boxed{2}` gives `2`)."""
