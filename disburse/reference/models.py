"""Reference data: 2021 provinces and districts (GSO codes), banks (VietQR/NAPAS short codes)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import db


class Province(db.Model):  # type: ignore[name-defined]
    __tablename__ = "provinces"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{2}$'", name="code_format"),)

    #: GSO 2021 code, 2 digits ("01" = Hà Nội).
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))

    def __repr__(self) -> str:
        return f"<Province {self.code} {self.name}>"


class District(db.Model):  # type: ignore[name-defined]
    __tablename__ = "districts"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{3}$'", name="code_format"),)

    #: GSO 2021 code, 3 digits, unique nationally ("017" = Đông Anh).
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    def __repr__(self) -> str:
        return f"<District {self.code} {self.name}>"


class Bank(db.Model):  # type: ignore[name-defined]
    __tablename__ = "banks"

    #: Short code in the VietQR/NAPAS list ("VCB", "BIDV", "ICB", …).
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: NAPAS bank identification number (6 digits).
    bin: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<Bank {self.code}>"
