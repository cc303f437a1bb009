"""Score a batch over Ray actors, each wrapping an :class:`rlvr.Engine`.

>>> import ray, rlvr.ray
>>> ray.init()                                            # doctest: +SKIP
>>> outcomes = rlvr.ray.score(samples, num_actors=4)      # doctest: +SKIP

The batch is split into one contiguous share of work per actor, never splitting a group (samples
with the same ``group``, or else the same ``prompt``, stay on one actor, so group-level reward
components see their whole group). The outcomes come back in input order, identical to one
engine scoring the whole batch. When an actor dies mid-batch (node lost, killed, out of memory)
its shard is scored again on a fresh actor, up to ``max_retries`` times; nothing is lost or
duplicated. Needs ``pip install ray``.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

try:
    import ray as _ray
except ImportError as _error:  # pragma: no cover - exercised only without ray
    _ray = None
    _import_error = _error

__all__ = ["EngineActor", "EnginePool", "PendingBatch", "score", "shard"]


def _need_ray():
    if _ray is None:
        raise ImportError(f"rlvr.ray needs Ray: pip install ray ({_import_error})")
    return _ray


class _Engine:
    """The actor body: one engine per actor process."""

    def __init__(self, engine_kwargs: Optional[dict] = None):
        import rlvr

        self.engine = rlvr.Engine(**(engine_kwargs or {}))

    def score(self, samples: list) -> list:
        return self.engine.score(samples)

    def pid(self) -> int:
        import os

        return os.getpid()


def EngineActor(num_cpus: float = 1, **options: Any):
    """The Ray actor class wrapping an engine (``EngineActor().remote(engine_kwargs)``)."""
    return _need_ray().remote(num_cpus=num_cpus, **options)(_Engine)


def _group_key(sample: Any) -> Any:
    if not isinstance(sample, dict):
        return None
    key = sample.get("group")
    if key is None:
        key = sample.get("prompt")
    if key is None:
        return None
    try:
        hash(key)
        return key
    except TypeError:
        return repr(key)


def shard(samples: Sequence[Any], parts: int) -> list:
    """Splits sample indices into at most ``parts`` shards of about equal size, keeping groups whole."""
    units: list = []
    by_key: dict = {}
    for i, sample in enumerate(samples):
        key = _group_key(sample)
        if key is None:
            units.append([i])
        elif key in by_key:
            by_key[key].append(i)
        else:
            by_key[key] = [i]
            units.append(by_key[key])
    parts = max(1, min(parts, len(units)))
    size = -(-len(samples) // parts)  # ceil
    shards: list = [[]]
    for unit in units:
        if len(shards[-1]) >= size and len(shards) < parts:
            shards.append([])
        shards[-1].extend(unit)
    return [s for s in shards if s]


def _actor_errors(ray) -> tuple:
    # The errors of a task whose actor died or cannot be reached (ActorUnavailableError: Ray ≥ 2.30).
    return tuple(e for e in (getattr(ray.exceptions, n, None) for n in ("RayActorError", "ActorUnavailableError")) if e)


class PendingBatch:
    """A batch being scored; :meth:`result` waits for it, retrying shards whose actor died."""

    def __init__(self, pool: "EnginePool", samples: list, shards: list, refs: list):
        self._pool, self._samples, self._shards, self._refs = pool, samples, shards, refs
        self.retries = 0

    def result(self, max_retries: int = 3) -> list:
        ray = _need_ray()
        out: list = [None] * len(self._samples)
        for k, indices in enumerate(self._shards):
            attempt = 0
            while True:
                try:
                    outcomes = ray.get(self._refs[k])
                    break
                except _actor_errors(ray) as error:
                    attempt += 1
                    if attempt > max_retries:
                        raise RuntimeError(f"rlvr.ray: shard {k} failed {attempt} times; last error: {error}") from error
                    self.retries += 1
                    actor = self._pool._replace(k % len(self._pool.actors))
                    self._refs[k] = actor.score.remote([self._samples[i] for i in indices])
            for i, outcome in zip(indices, outcomes):
                out[i] = outcome
        return out


class EnginePool:
    """``num_actors`` engine actors; :meth:`score` shards a batch over them."""

    def __init__(self, num_actors: int = 2, engine_kwargs: Optional[dict] = None, num_cpus: float = 1, **actor_options: Any):
        if num_actors < 1:
            raise ValueError("num_actors must be at least 1")
        self._engine_kwargs = engine_kwargs
        self._cls = EngineActor(num_cpus=num_cpus, **actor_options)
        self.actors = [self._cls.remote(engine_kwargs) for _ in range(num_actors)]

    def _replace(self, k: int):
        actor = self._cls.remote(self._engine_kwargs)
        self.actors[k] = actor
        return actor

    def submit(self, samples: Sequence[Any]) -> PendingBatch:
        """Starts scoring ``samples``; returns at once."""
        samples = list(samples)
        shards = shard(samples, len(self.actors))
        refs = [self.actors[k].score.remote([samples[i] for i in s]) for k, s in enumerate(shards)]
        return PendingBatch(self, samples, shards, refs)

    def score(self, samples: Sequence[Any], max_retries: int = 3) -> list:
        """One outcome per sample, in input order."""
        return self.submit(samples).result(max_retries=max_retries)

    def shutdown(self) -> None:
        """Kills the actors."""
        ray = _need_ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


def score(samples: Sequence[Any], num_actors: int = 2, engine_kwargs: Optional[dict] = None, max_retries: int = 3) -> list:
    """Scores ``samples`` over ``num_actors`` fresh actors (Ray must be initialised), then kills them."""
    pool = EnginePool(num_actors, engine_kwargs)
    try:
        return pool.score(samples, max_retries=max_retries)
    finally:
        pool.shutdown()
