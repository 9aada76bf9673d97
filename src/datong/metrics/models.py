"""Assessment tables: the weight and target the bureau sets for each indicator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from datong.db.base import Base, UTCDateTime, utcnow


class AssessmentIndicator(Base):
    """One indicator of the departments' assessment (考核): its weight in the total and its target."""

    __tablename__ = "assessment_indicators"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
