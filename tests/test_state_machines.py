"""Statuses change only through the state machines: `booking/states.py` (appointments), `billing/states.py`
(payments, refunds, superbills), `billing/batch_states.py` (the month's superbill batch), `clinical/states.py`
(clearance decisions) and `clinic/outbox_states.py` (mail).
Read from the source itself, so a new module that writes a status where no guard sees it fails here."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("clinic", "clinical", "booking", "billing")
STATE_MODULES = {"booking/states.py", "billing/states.py", "clinical/states.py", "clinic/outbox_states.py",
                 "billing/batch_states.py"}
#: Attributes called `status` that are not a record's state, each with why.
NOT_A_RECORD_STATE = {
    "clinic/errors.py": "a domain error's HTTP status code",
}


def _status_writes(tree: ast.AST) -> list[int]:
    """Lines that assign `<anything>.status`, alone or in a tuple, or call setattr(..., "status", ...) or
    `.values(status=...)` (a bulk UPDATE)."""
    lines = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            parts = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            lines += [node.lineno for part in parts if isinstance(part, ast.Attribute) and part.attr == "status"]
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "setattr" and len(node.args) > 1 and getattr(node.args[1], "value", None) == "status":
                lines.append(node.lineno)
            if name == "values" and any(k.arg == "status" for k in node.keywords):
                lines.append(node.lineno)
    return lines


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_only_the_state_modules_write_a_status():
    found = []
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        if name in STATE_MODULES or name in NOT_A_RECORD_STATE:
            continue
        found += [f"{name}:{line}" for line in _status_writes(ast.parse(path.read_text(), name))]
    assert found == []


def test_each_state_module_writes_the_status_it_guards():
    for name in STATE_MODULES:
        assert _status_writes(ast.parse((ROOT / name).read_text())), f"{name} writes no status"


@pytest.mark.parametrize("source", [
    "appointment.status = 'confirmed'",
    "refund.stripe_refund_id, refund.status = result.id, 'succeeded'",
    "setattr(payment, 'status', 'failed')",
    "db.session.execute(update(Payment).values(status='failed'))",
])
def test_the_check_sees_every_way_of_writing_a_status(source):
    assert _status_writes(ast.parse(source)) == [1]


def test_the_check_leaves_reading_and_new_records_alone():
    source = "if payment.status == 'succeeded':\n    Payment(status='pending')\nquery.where(Payment.status == 'x')"
    assert _status_writes(ast.parse(source)) == []


# --- the billing tables themselves ----------------------------------------------------------------------------------

def test_a_settled_refund_does_not_move_again_and_an_unknown_one_settles_once():
    from billing import states
    from billing.models import Refund, RefundStatus as R
    refund = Refund(status=R.pending.value)
    assert states.move_refund(refund, R.unknown) and refund.status == "unknown"
    assert states.move_refund(refund, R.succeeded) and refund.status == "succeeded"
    assert not states.move_refund(refund, R.failed) and refund.status == "succeeded"
    assert not states.move_refund(Refund(status=R.failed.value), R.succeeded)


def test_money_that_moved_wins_over_an_earlier_failure_and_nothing_undoes_it():
    from billing import states
    from billing.models import Payment, PaymentStatus as P
    payment = Payment(status=P.failed.value)
    assert states.move(payment, P.succeeded) and states.is_paid(payment)
    assert not states.move(payment, P.failed) and payment.status == "succeeded"


def test_which_statuses_count_is_answered_once():
    from billing import states
    assert states.paid_statuses() == ["succeeded"]
    assert states.unsettled_statuses() == ["pending", "requires_action", "unknown"]
    assert states.unsettled_refund_statuses() == ["pending", "unknown"]
    assert states.counting_refund_statuses() == ["pending", "succeeded", "unknown"]


def test_only_a_hold_that_ran_out_comes_back():
    from datetime import datetime, timezone
    from booking import states
    from booking.errors import TransitionRefused
    from booking.models import Appointment, AppointmentStatus as S
    end = datetime(2027, 3, 17, 14, 0, tzinfo=timezone.utc)
    ran_out = Appointment(status="cancelled", hold_expires_at=end, cancelled_at=end)
    states.move(ran_out, S.confirmed)
    assert ran_out.status == "confirmed"
    cancelled = Appointment(status="cancelled", hold_expires_at=end, cancelled_at=datetime(2027, 3, 17, 13, 50,
                                                                                               tzinfo=timezone.utc))
    with pytest.raises(TransitionRefused):
        states.move(cancelled, S.confirmed)
    assert cancelled.status == "cancelled"


def test_a_clearance_no_longer_in_force_cannot_end_again():
    from clinic.errors import Conflict
    from clinical import states
    from clinical.models import Clearance, ClearanceStatus as C
    clearance = Clearance(status=C.current.value)
    states.move(clearance, C.withdrawn)
    with pytest.raises(Conflict):
        states.move(clearance, C.superseded)
    assert clearance.status == "withdrawn"


def test_mail_once_sent_or_given_up_stays_so():
    from clinic import outbox_states
    from clinic.models import OutboxMessage
    message = OutboxMessage(status="pending")
    assert outbox_states.move(message, outbox_states.SENT) and message.status == "sent"
    assert not outbox_states.move(message, outbox_states.FAILED) and message.status == "sent"
