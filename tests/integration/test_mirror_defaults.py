"""The mirror checks read the published defaults from the packaged data file without a database; the choice
must be the factor library's own (backend.factors.service.select_factor on the seeded tables)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.factors import service as factors
from backend.factors.errors import FactorMissing, FactorOutOfScope
from backend.mirror import GoodsDefault, GridDefault, Unavailable, goods_default, grid_default
from tests.factories.tenants import make_tenant

GOODS = [
    ("7601", "RS", date(2026, 3, 1)),
    ("76012000", "CN", date(2027, 6, 1)),
    ("7601", "CN", date(2031, 1, 1)),
    ("76011000", "MK", date(2026, 3, 1)),
    ("76042990", "RS", date(2026, 12, 31)),
    ("76042990", "RS", date(2027, 1, 1)),
    ("76042990", "TR", date(2026, 3, 1)),
    ("76042990", "XK", date(2026, 3, 1)),
    ("76042100", "RS", date(2026, 3, 1)),
    ("7601", "DE", date(2026, 3, 1)),
    ("7601", "CH", date(2026, 3, 1)),
    ("7601", "RS", date(2025, 12, 31)),
]
GRID = [
    ("RS", date(2026, 3, 1)),
    ("XK", date(2026, 3, 1)),
    ("AL", date(2026, 3, 1)),
    ("FJ", date(2026, 3, 1)),
    ("AT", date(2026, 3, 1)),
    ("NO", date(2026, 3, 1)),
    ("RS", date(2025, 12, 31)),
]


@pytest.mark.parametrize(("cn", "country", "on"), GOODS)
async def test_the_packaged_goods_default_is_the_one_the_factor_library_selects(services, cn, country, on):
    owner = await make_tenant(services)
    packaged = goods_default(cn, country, on)
    async with services.db.tenant(owner.tenant.scope()) as db:
        try:
            chosen = await factors.goods_default(db, cn, country, on)
        except (FactorMissing, FactorOutOfScope):
            assert isinstance(packaged, Unavailable), packaged
            return
    assert isinstance(packaged, GoodsDefault), packaged
    assert Decimal(str(packaged.direct)) == chosen.factor.value
    assert f"{packaged.cn_code}|{packaged.country}" == chosen.factor.subject
    assert packaged.fallback == chosen.fallback
    assert packaged.markup_percent == float(chosen.factor.parameters["markup_percent"])


@pytest.mark.parametrize(("country", "on"), GRID)
async def test_the_packaged_grid_default_is_the_one_the_factor_library_selects(services, country, on):
    owner = await make_tenant(services)
    packaged = grid_default(country, on)
    async with services.db.tenant(owner.tenant.scope()) as db:
        try:
            chosen = await factors.grid_default(db, country, on)
        except (FactorMissing, FactorOutOfScope):
            assert isinstance(packaged, Unavailable), packaged
            return
    assert isinstance(packaged, GridDefault), packaged
    assert Decimal(str(packaged.value)) == chosen.factor.value
    assert packaged.country == chosen.factor.subject
    assert packaged.fallback == chosen.fallback
