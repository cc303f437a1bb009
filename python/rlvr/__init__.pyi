from ._rlvr import (
    INSTALL_COMMAND as INSTALL_COMMAND,
    MAX_VALUE_DEPTH as MAX_VALUE_DEPTH,
    Check as Check,
    Engine as Engine,
    Outcome as Outcome,
    RlvrError as RlvrError,
    __version__ as __version__,
    check as check,
    extract_answer as extract_answer,
    extract_gold as extract_gold,
    gold_parses as gold_parses,
    verify as verify,
)

def recipes() -> list[str]: ...
