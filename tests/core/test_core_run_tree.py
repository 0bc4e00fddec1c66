"""tokenomy.RunTree: open runs → parent, root and root name; bounded; thread-safe; and the
run-naming rule (with_run_name)."""

from __future__ import annotations

import threading

import pytest

import tokenomy
from tokenomy import RunTree, with_run_name


def test_a_child_gets_its_roots_id_and_name() -> None:
    """Runs opened under an open run carry the outermost run's id and name, and their own
    parent's id."""
    tree: RunTree[str] = RunTree()
    root = tree.open("r", None, "Agent")
    child = tree.open("c", "r", "Tool")
    grandchild = tree.open("g", "c", "Retriever")
    assert (root.parent_id, root.root_id, root.root_name) == (None, "r", "Agent")
    assert (child.parent_id, child.root_id, child.root_name) == ("r", "r", "Agent")
    assert (grandchild.parent_id, grandchild.root_id, grandchild.root_name) == ("c", "r", "Agent")
    assert tree.get("g") is grandchild and tree.parent("g") == "c" and len(tree) == 3


def test_a_run_under_an_unknown_parent_is_a_root_grouped_under_that_parent() -> None:
    """A parent the tree never saw (attached below the top, or already closed): the run is a
    root for this tree, with the parent's id as root id and its own name."""
    tree: RunTree[str] = RunTree()
    node = tree.open("m", "outside", "ChatOpenAI")
    assert (node.parent_id, node.root_id, node.root_name) == ("outside", "outside", "ChatOpenAI")
    tree.open("p", None, "Chain")
    tree.close("p")
    late = tree.open("late", "p", "Late")
    assert (late.root_id, late.root_name) == ("p", "Late")


def test_close_forgets_and_unknown_ids_are_ignored() -> None:
    """Closed runs are forgotten at once; closing or getting an unknown id is harmless."""
    tree: RunTree[int] = RunTree()
    tree.open(1)
    tree.close(1)
    tree.close(2)
    assert len(tree) == 0 and tree.get(1) is None and tree.get(None) is None
    assert tree.parent(1) is None and 1 not in tree
    tree.open(3)
    tree.clear()
    assert len(tree) == 0


def test_bounded_the_oldest_open_run_is_forgotten() -> None:
    """Opening past max_open forgets the oldest run (one whose close never came)."""
    tree: RunTree[int] = RunTree(max_open=3)
    for i in range(5):
        tree.open(i)
    assert len(tree) == 3 and [i in tree for i in range(5)] == [False, False, True, True, True]
    with pytest.raises(ValueError, match="max_open"):
        RunTree(max_open=0)


def test_a_root_keeps_the_track_blocks_it_opened_in() -> None:
    """The track() blocks active where the root opened are kept on it and passed to the runs
    below it, even ones opened outside the block (a plain thread copies no context)."""
    tree: RunTree[str] = RunTree()
    with tokenomy.track(feature="search") as tracker:
        root = tree.open("r", None, "Query")
    outside = tree.open("c", "r")
    assert root.chain == (tracker,) and outside.chain == (tracker,)
    assert tree.open("alone").chain == ()


def test_threads_opening_and_closing_at_once_leave_no_run_behind() -> None:
    """Eight threads opening and closing their own runs under one shared root: every child
    finds the root and nothing is left open."""
    tree: RunTree[str] = RunTree(max_open=10_000)
    tree.open("root", None, "Batch")
    errors: list[str] = []

    def worker(n: int) -> None:
        for i in range(2_000):
            node = tree.open(f"{n}-{i}", "root")
            if node.root_id != "root" or node.root_name != "Batch":
                errors.append(f"{n}-{i}")
            tree.close(f"{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(tree) == 1


def test_with_run_name_is_the_lowest_precedence_tag() -> None:
    """Tag run_name is the root's name unless the framework's tags already set one; no name,
    no tag."""
    assert with_run_name(None, "Agent") == {"run_name": "Agent"}
    assert with_run_name({"a": "1"}, "Agent") == {"a": "1", "run_name": "Agent"}
    assert with_run_name({"run_name": "mine"}, "Agent") == {"run_name": "mine"}
    assert with_run_name(None, None) is None and with_run_name({}, "") == {}
