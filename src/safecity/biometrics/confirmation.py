"""The two-person rule (G9), shared by face matches (`safecity.biometrics.matches`) and plate hits
(`safecity.plates.hits`): an item is `pending` until reviewed; each reviewer (with the flow's permission)
confirms or rejects it once; one rejection makes it `rejected`; confirmations by two *different* users make
it `confirmed`; only a confirmed item can be acted on (`dispatch`). Every step is audited.

The item rows have `id`, `status`, `acted_at`, `acted_by`, `act_note`; the review rows `user_id`,
`username`, `decision`, `note`, `at` and a foreign key to the item (`fk`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.biometrics.common import Actor, ConflictError, InvalidError, PolicyError, log_action, now_utc
from safecity.biometrics.models import MatchStatus

CONFIRMATIONS_NEEDED = 2


class Reviewable(Protocol):
    id: Any
    status: Any
    acted_at: Any
    acted_by: Any
    act_note: Any


@dataclass(frozen=True, slots=True)
class TwoPersonRule:
    noun: str  # "face match": in messages
    subject: str  # "match": audit subject prefix and messages
    action: str  # "biometrics.match": audit actions <action>.review / <action>.dispatch
    permission: str  # the reviewer's permission
    review_model: Any  # the ORM class of the reviews
    fk: str  # its column naming the item

    def reviews_of(self, db: Session, item_id: int) -> list[Any]:
        col = getattr(self.review_model, self.fk)
        return list(
            db.scalars(select(self.review_model).where(col == item_id).order_by(self.review_model.id))
        )

    def reviewer(self, actor: Actor, permissions: Collection[str]) -> int:
        """The reviewer's user id; PolicyError for a system actor or one without the permission."""
        if actor.id is None or self.permission not in permissions:
            raise PolicyError(f"reviewing a {self.noun} needs a user with {self.permission}")
        return actor.id

    def review(
        self,
        db: Session,
        row: Reviewable,
        confirm: bool,
        note: str,
        actor: Actor,
        permissions: Collection[str],
        on_reject: Callable[[], dict[str, Any]] | None = None,
    ) -> Reviewable:
        """Record one review; `on_reject` runs on a rejection (drop the crop...), returns audit details."""
        user_id = self.reviewer(actor, permissions)
        if row.status != MatchStatus.PENDING.value:
            raise ConflictError(
                f"{self.subject} {row.id} is {row.status}; only a pending {self.subject} is reviewed"
            )
        if any(r.user_id == user_id for r in self.reviews_of(db, row.id)):
            raise PolicyError(
                f"{actor.name} already reviewed {self.subject} {row.id}; "
                "the second review is another person's"
            )
        now = now_utc()
        decision = "confirm" if confirm else "reject"
        db.add(
            self.review_model(
                **{self.fk: row.id},
                user_id=user_id,
                username=actor.name,
                decision=decision,
                note=note.strip(),
                at=now,
            )
        )
        db.flush()
        model = self.review_model
        confirmations = int(
            db.scalar(
                select(func.count(func.distinct(model.user_id))).where(
                    getattr(model, self.fk) == row.id, model.decision == "confirm"
                )
            )
            or 0
        )
        extra: dict[str, Any] = {}
        if not confirm:
            row.status = MatchStatus.REJECTED.value
            extra = on_reject() if on_reject is not None else {}
        elif confirmations >= CONFIRMATIONS_NEEDED:
            row.status = MatchStatus.CONFIRMED.value
        db.flush()
        details = {
            "decision": decision,
            "note": note.strip(),
            "status": row.status,
            "confirmations": confirmations,
            **extra,
        }
        log_action(db, actor, f"{self.action}.review", f"{self.subject}:{row.id}", details, now)
        return row

    def dispatch(
        self, db: Session, row: Reviewable, note: str, actor: Actor, permissions: Collection[str]
    ) -> Reviewable:
        """Act on an item: only once two different reviewers confirmed it."""
        self.reviewer(actor, permissions)
        if row.status != MatchStatus.CONFIRMED.value:
            raise PolicyError(
                f"{self.subject} {row.id} is {row.status}: acting on a {self.subject} needs confirmation by "
                f"{CONFIRMATIONS_NEEDED} different reviewers"
            )
        if not note.strip():
            raise InvalidError(f"dispatching on a {self.subject} needs a note (what is done, by whom)")
        now = now_utc()
        row.status, row.acted_at, row.acted_by, row.act_note = (
            MatchStatus.DISPATCHED.value,
            now,
            actor.name,
            note,
        )
        db.flush()
        log_action(
            db, actor, f"{self.action}.dispatch", f"{self.subject}:{row.id}", {"note": note.strip()}, now
        )
        return row
