"""The batcher in-process: where a batch computes (the event loop for a quick one,
a pool thread otherwise), that requests queued in one loop turn still merge,
and that each answer is bitwise the request's own unbatched predict."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

import tfjs_infer as ti
from conftest import IDS, assert_bitwise, digits_rows, ids_rows
from tfjs_infer.serve.batcher import Batcher, Result
from tfjs_infer.serve.codec import RequestError


class Recorded:
    """A real model whose predict calls note the thread they ran on and their rows."""

    def __init__(self, model: ti.Model) -> None:
        self.model = model
        self.stateful = model.stateful
        self.calls: list[tuple[int, int]] = []  # (thread id, rows)

    def predict(self, x: Any) -> Any:
        rows = (x[0] if isinstance(x, list) else x).shape[0]
        self.calls.append((threading.get_ident(), int(rows)))
        return self.model.predict(x)


def _run(model: Recorded, inline_s: float, rounds: list[list[np.ndarray]]) -> list[list[Result]]:
    """Each round's requests sent in one loop turn, rounds one after the other."""

    async def main() -> list[list[Result]]:
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher(
                "m", model, ["out"], pool, max_batch_size=64, inline_s=inline_s, max_queue=64
            )
            batcher.start()
            answers = []
            for requests in rounds:
                answers.append(await asyncio.gather(*(batcher.predict([x]) for x in requests)))
            await batcher.stop()
            return answers

    return asyncio.run(main())


def test_a_quick_model_computes_on_the_event_loop_after_its_first_batch() -> None:
    digits = Recorded(ti.load_model(ti.examples.digits_path()))
    loop_thread = threading.get_ident()  # asyncio.run's loop runs on this thread
    rounds = [[digits_rows(1, seed=s)] for s in range(4)]
    answers = _run(digits, 1.0, rounds)
    threads = [thread for thread, _ in digits.calls]
    assert threads[0] != loop_thread  # nothing measured yet: the pool
    assert threads[1:] == [loop_thread] * 3
    assert answers[0][0].handoff_s > 0 and all(a[0].handoff_s == 0 for a in answers[1:])
    for (x,), (result,) in zip(rounds, answers):
        assert_bitwise(result.outputs[0], digits.model.predict(x))


def test_without_inline_compute_every_batch_goes_to_the_pool() -> None:
    digits = Recorded(ti.load_model(ti.examples.digits_path()))
    _run(digits, 0.0, [[digits_rows(1, seed=s)] for s in range(3)])
    assert threading.get_ident() not in {thread for thread, _ in digits.calls}


def test_a_batch_expected_to_take_longer_than_the_limit_goes_to_the_pool() -> None:
    digits = Recorded(ti.load_model(ti.examples.digits_path()))
    _run(digits, 1e-12, [[digits_rows(1, seed=s)] for s in range(3)])  # no call is that quick
    assert threading.get_ident() not in {thread for thread, _ in digits.calls}


def test_requests_queued_in_one_loop_turn_share_an_inline_batch() -> None:
    digits = Recorded(ti.load_model(ti.examples.digits_path()))
    warm = [digits_rows(1, seed=90)]
    requests = [digits_rows(n, seed=100 + n) for n in (1, 2, 3, 4, 5)]
    answers = _run(digits, 1.0, [warm, requests])[1]
    assert digits.calls[1] == (threading.get_ident(), 15)  # one inline call, all 15 rows
    for x, result in zip(requests, answers):
        assert result.batch_rows == 15
        assert_bitwise(result.outputs[0], digits.model.predict(x))


def test_an_inline_batch_with_a_bad_request_answers_the_others() -> None:
    ids = Recorded(ti.load_model(IDS))
    good = [ids_rows(n, seed=200 + n) for n in (1, 2, 3)]
    bad = ids_rows(2, seed=209)
    bad[0, 1] = 12  # past the embedding's 10 rows: the core refuses the whole batch

    async def main() -> list[Any]:
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher("ids", ids, ["out"], pool, inline_s=1.0)
            batcher.start()
            await batcher.predict([ids_rows(1, seed=1)])  # measured: later batches go inline
            calls = [batcher.predict([x]) for x in [*good, bad]]
            return await asyncio.gather(*calls, return_exceptions=True)

    *answers, refused = asyncio.run(main())
    assert isinstance(refused, RequestError) and refused.status == 400
    assert "12" in refused.message
    inline = [rows for thread, rows in ids.calls[1:] if thread == threading.get_ident()]
    assert inline[0] == 8  # the merged batch failed inline, then each ran alone
    for x, result in zip(good, answers):
        assert_bitwise(result.outputs[0], ids.model.predict(x))


def test_a_lone_request_computes_before_predict_first_yields() -> None:
    """With the server holding no other request, a quick batch runs at once:
    the answer is ready before `predict` gives the loop a turn."""
    digits = Recorded(ti.load_model(ti.examples.digits_path()))
    x = digits_rows(1, seed=300)

    async def main(alone: bool) -> tuple[bool, Result]:
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher(
                "m", digits, ["out"], pool, inline_s=1.0, alone=lambda: alone, max_queue=8
            )
            batcher.start()
            await batcher.predict([digits_rows(1, seed=301)])  # measured once, in the pool
            calls_before = len(digits.calls)
            task = asyncio.ensure_future(batcher.predict([x]))
            await asyncio.sleep(0)  # the task runs up to its first yield
            computed_in_first_step = len(digits.calls) > calls_before
            result = await task
            await batcher.stop()
            return computed_in_first_step, result

    immediate, result = asyncio.run(main(alone=True))
    assert immediate
    assert_bitwise(result.outputs[0], digits.model.predict(x))
    deferred, _ = asyncio.run(main(alone=False))
    assert not deferred  # others in flight: it waits a turn for them to merge


def test_predict_now_computes_only_a_lone_quick_request_that_would_not_wait() -> None:
    """The queue-less path answers exactly when the queue would have started
    the request's own batch inline at once; otherwise it declines (None)."""
    digits = Recorded(ti.load_model(ti.examples.digits_path()))
    x = digits_rows(2, seed=310)

    async def main() -> list[Any]:
        with ThreadPoolExecutor(1) as pool:

            def batcher(alone: bool, timeout_s: float = 0.0) -> Batcher:
                made = Batcher(
                    "m", digits, ["out"], pool, inline_s=1.0, alone=lambda: alone,
                    timeout_s=timeout_s, max_batch_size=4,
                )  # fmt: skip
                made.start()
                return made

            lone = batcher(alone=True)
            unmeasured = lone.predict_now([x])  # its first batch: no time known yet
            await lone.predict([digits_rows(1, seed=311)])
            now = lone.predict_now([x])
            now_call = digits.calls[-1]
            crowded = batcher(alone=False)
            await crowded.predict([x])
            waiting = batcher(alone=True, timeout_s=0.5)  # a batch waits 0.5 s for company
            await waiting.predict([digits_rows(4, seed=312)])  # 4 rows fill a batch
            declined = [crowded.predict_now([x]), waiting.predict_now([x])]
            return [unmeasured, now, now_call, *declined]

    unmeasured, now, now_call, crowded, waiting = asyncio.run(main())
    assert unmeasured is None and crowded is None and waiting is None
    assert now.batch_rows == 2 and now_call == (threading.get_ident(), 2)
    assert_bitwise(now.outputs[0], digits.model.predict(x))


def test_answers_now_is_predict_now_for_one_row_and_rows_are_checked_again() -> None:
    """answers_now (asked before a request's body is parsed) agrees with
    predict_now's decision for one row, in every state the tests above use;
    predict_answering_now computes a request whose rows still make a quick
    batch, declines (None) one whose rows would not, and leaves the batch to
    the metrics hook until report()."""
    digits = Recorded(ti.load_model(ti.examples.digits_path()))
    one = digits_rows(1, seed=320)
    many = digits_rows(64, seed=321)
    batches: list[tuple[int, int, float]] = []

    async def main() -> dict[str, Any]:
        with ThreadPoolExecutor(1) as pool:

            def batcher(alone: bool, timeout_s: float = 0.0, size: int = 64) -> Batcher:
                made = Batcher(
                    "m", digits, ["out"], pool, inline_s=1.0, alone=lambda: alone,
                    timeout_s=timeout_s, max_batch_size=size,
                    on_batch=lambda *batch: batches.append(batch),
                )  # fmt: skip
                made.start()
                return made

            seen: dict[str, Any] = {}
            lone = batcher(alone=True)
            seen["unmeasured"] = lone.answers_now()
            await lone.predict([one])
            seen["measured"] = lone.answers_now()
            crowded = batcher(alone=False)
            await crowded.predict([one])
            waiting = batcher(alone=True, timeout_s=0.5)
            await waiting.predict([one])
            unbatched = batcher(alone=True, timeout_s=0.5, size=1)
            await unbatched.predict([one])
            seen["declined"] = [crowded.answers_now(), waiting.answers_now()]
            seen["unbatched"] = unbatched.answers_now()
            for name, made in (("lone", lone), ("crowded", crowded), ("waiting", waiting)):
                assert made.answers_now() == (made.predict_now([one]) is not None), name
            before = len(batches)
            seen["one"] = lone.predict_answering_now([one])
            seen["unreported"] = len(batches) - before
            lone.report(1, seen["one"].compute_s)
            lone.inline_s = lone._last_compute_s * 8  # one row is quick, 64 are not
            seen["many"] = lone.predict_answering_now([many])
            return seen

    seen = asyncio.run(main())
    assert seen["unmeasured"] is False and seen["measured"] is True
    assert seen["declined"] == [False, False] and seen["unbatched"] is True
    assert seen["unreported"] == 0 and batches[-1][:2] == (1, 1)
    assert_bitwise(seen["one"].outputs[0], digits.model.predict(one))
    assert seen["many"] is None


def test_predict_now_answers_a_refused_input_with_400() -> None:
    ids = Recorded(ti.load_model(IDS))
    bad = ids_rows(1, seed=320)
    bad[0, 0] = 12  # past the embedding's 10 rows

    async def main() -> Any:
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher("ids", ids, ["out"], pool, inline_s=1.0, alone=lambda: True)
            batcher.start()
            await batcher.predict([ids_rows(1, seed=1)])
            try:
                return batcher.predict_now([bad])
            except RequestError as exc:
                return exc

    refused = asyncio.run(main())
    assert isinstance(refused, RequestError) and refused.status == 400 and "12" in refused.message
