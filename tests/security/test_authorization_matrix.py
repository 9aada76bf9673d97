"""Every cell of the role × action × own/other department matrix for loading, quality and sharing.

Read the table as: for each action, what each kind of account may do to its own department's
things and to another department's (T allowed, F refused).
"""

import pytest

from datong.security.authz import Actor, Target, is_allowed
from datong.security.roles import Role

OWN, OTHER = 10, 20
KINDS = ["bureau_admin", "dept_admin", "data_steward", "clerk", "auditor", "system_admin", "security_admin", "client"]
MATRIX = """
action          bureau_admin dept_admin data_steward clerk auditor system_admin security_admin client
data.load       TT           TF         TF           FF    FF      FF           FF             TF
load.read       TT           TF         TF           FF    TT      FF           FF             TF
issue.read      TT           TF         TF           TF    TT      FF           FF             TF
issue.rectify   TT           TF         TF           FF    FF      FF           FF             FF
issue.review    TT           FF         FF           FF    FF      FF           FF             FF
quality.rule    TT           TF         TF           FF    FF      FF           FF             FF
quality.run     TT           TF         TF           FF    FF      FF           FF             FF
resource.edit   TT           TF         TF           FF    FF      FF           FF             FF
share.request   FF           TF         TF           TF    FF      FF           FF             TF
share.decide    TT           TF         TF           FF    FF      FF           FF             FF
share.oversee   TT           FF         FF           FF    TT      FF           FF             FF
"""


def _cells():
    lines = [line.split() for line in MATRIX.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    assert header == KINDS
    for action, *cells in rows:
        for kind, cell in zip(header, cells, strict=True):
            yield action, kind, cell == "TT" or cell == "TF", cell in ("TT", "FT")


def _actor(kind: str) -> Actor:
    if kind == "client":
        return Actor(kind="client", name="dtc_x", id=1, department_id=OWN)
    return Actor(kind="user", name=kind, id=1, department_id=OWN, roles=frozenset({Role(kind)}))


@pytest.mark.parametrize("action, kind, own, other", list(_cells()))
def test_every_cell(action, kind, own, other):
    actor = _actor(kind)
    assert is_allowed(actor, action, Target("x", "1", OWN)) is own, f"{kind} on own {action}"
    assert is_allowed(actor, action, Target("x", "1", OTHER)) is other, f"{kind} on other {action}"


def test_the_matrix_covers_every_role():
    assert set(KINDS) - {"client"} == {r.value for r in Role}
