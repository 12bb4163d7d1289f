"""Switching from one configuration to another without interrupting a customer: the order of the operations."""
from __future__ import annotations

import numpy as np

from core.contract.network import Network
from core.local_qnn.engines.grid.powerflow import RadialSolver


def switching_sequence(net: Network, before: np.ndarray, after: np.ndarray) -> list[dict[str, str]]:
    """Steps from the present state to the answer. From a radial state: close a line, then open one on the
    loop it made (make before break), so every intermediate state is radial and nothing is interrupted."""
    to_close = [k for k in range(net.n_lines) if after[k] and not before[k]]
    to_open = {k for k in range(net.n_lines) if before[k] and not after[k]}
    solver = RadialSolver(net)
    state = before.copy()
    steps: list[dict[str, str]] = []
    if solver.tree(np.flatnonzero(state).tolist()) is None:  # meshed or islanded now: close, then open
        return ([{"action": "close", "line": net.line_ids[k]} for k in to_close]
                + [{"action": "open", "line": net.line_ids[k]} for k in sorted(to_open)])
    for t in to_close:
        tree = solver.tree(np.flatnonzero(state).tolist())
        assert tree is not None
        depth = [0] * net.n_buses
        for j in tree.order[1:]:
            depth[j] = depth[tree.parent[j]] + 1
        a, b = int(net.from_bus[t]), int(net.to_bus[t])
        loop = []
        while a != b:
            if depth[a] < depth[b]:
                a, b = b, a
            loop.append(tree.parent_line[a])
            a = tree.parent[a]
        # The answer is a tree, so it cannot contain the whole loop: some loop line is still to be opened.
        e = next(k for k in loop if k in to_open)
        to_open.discard(e)
        state[t], state[e] = True, False
        steps += [{"action": "close", "line": net.line_ids[t]}, {"action": "open", "line": net.line_ids[e]}]
    return steps + [{"action": "open", "line": net.line_ids[k]} for k in sorted(to_open)]
