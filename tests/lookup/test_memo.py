"""The memo tables' one rule (shell/_memo.py): bounded, oldest out first, exact otherwise."""

from __future__ import annotations

import threading
from collections import OrderedDict

from hypothesis import given
from hypothesis import strategies as st

from overage_credit_grant.shell._memo import MEMOS, Memo, clear_all, memo

operations = st.lists(
    st.tuples(st.sampled_from(["put", "discard", "get"]), st.integers(0, 12), st.integers()),
    max_size=80,
)


@given(st.integers(1, 6), operations)
def test_a_memo_is_a_dict_that_drops_its_oldest_key_when_full(
    limit: int, ops: list[tuple[str, int, int]]
) -> None:
    """Against a model: an insertion-ordered dict that forgets its first key when a new key
    comes to a full table. Reads answer what the model holds; the size never passes the limit."""
    table: Memo[int, int] = Memo("test", limit)
    model: OrderedDict[int, int] = OrderedDict()
    for op, key, value in ops:
        if op == "put":
            if key not in model and len(model) >= limit:
                model.popitem(last=False)
            model[key] = value
            assert table.put(key, value) == value
        elif op == "discard":
            model.pop(key, None)
            table.discard(key)
        assert table.get(key) == model.get(key)
        assert len(table) == len(model) <= limit


def test_threads_never_see_a_table_past_its_limit() -> None:
    table: Memo[tuple[int, int], int] = Memo("threads", 50)

    def fill(n: int) -> None:
        for i in range(5000):
            table.put((n, i), i)
            assert len(table) <= 50

    workers = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(table) == 50


def test_every_memo_of_the_shell_is_listed_and_clear_all_empties_them() -> None:
    import overage_credit_grant.shell._read
    import overage_credit_grant.shell._store_choice  # noqa: F401

    names = {table.name for table in MEMOS}
    assert {"parsed config file by path", "decoded entry by config object"} <= names
    extra: Memo[str, int] = memo("test: listed")
    extra.put("a", 1)
    assert extra in MEMOS
    clear_all()
    assert len(extra) == 0
    MEMOS.remove(extra)  # type: ignore[arg-type]
