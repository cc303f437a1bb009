"""rlvr.ray on a real local Ray instance (started here on loopback with 2 CPUs)."""

import json
import pathlib

import pytest

ray = pytest.importorskip("ray")
import rlvr
import rlvr.ray as rr

PAIRS = pathlib.Path(__file__).resolve().parents[2] / "benches" / "data" / "math500_pairs.jsonl"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def batch(repeat=1):
    rows = [json.loads(l) for l in PAIRS.read_text(encoding="utf-8").splitlines() if l.strip()]
    samples = [{"id": r["id"], "completion": r["completion"], "answer": r["answer"]} for r in rows]
    # Groups (r1-math-shaped's length component needs them whole) and a malformed sample.
    for i, s in enumerate(samples[:64]):
        s["group"] = i // 8
    samples.insert(5, {"id": "bad", "answer": "1"})
    return samples * repeat


def test_shards_keep_groups_whole_and_cover_every_sample():
    samples = [{"group": i // 3} for i in range(10)] + [{} for _ in range(5)]
    shards = rr.shard(samples, 2)
    assert sorted(i for s in shards for i in s) == list(range(15))
    for s in shards:
        groups = {samples[i].get("group") for i in s} - {None}
        for other in shards:
            if other is not s:
                assert not groups & ({samples[i].get("group") for i in other} - {None})


def test_two_actors_equal_one_engine(local_ray):
    samples = batch()
    assert rr.score(samples, num_actors=2) == rlvr.Engine().score(samples)


def test_killed_actor_shard_is_retried(local_ray):
    samples = batch(repeat=20)  # about 20,000 samples: the shard is still being scored when killed
    expected = rlvr.Engine().score(samples)
    pool = rr.EnginePool(num_actors=2)
    try:
        ray.get([a.pid.remote() for a in pool.actors])  # both actors are up
        pending = pool.submit(samples)
        ray.kill(pool.actors[0])
        got = pending.result()
        assert pending.retries >= 1
        assert got == expected
    finally:
        pool.shutdown()
