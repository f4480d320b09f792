"""A demo province for trying HoSo offline: a unit tree, four accounts and N dossiers.

Cần Thơ as it stands after the 2025 reorganisation (Hậu Giang merged in, no district level). Names come
from Faker's vi_VN locale, composed in the Vietnamese order: family, middle, given.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from faker import Faker

from services.accounts.service import hash_password
from services.core.actor import Channel, Role
from services.core.clock import Clock
from services.core.text import fold
from storage import Repositories, UnitOfWork
from storage.models import Account, OrgUnit

DEMO_KEY = "demo"
# Telegram user ids of the terminal chat: one per demo account, and one that has no account.
CONSOLE_USER_IDS = {Role.ADMIN: 900_000_001, Role.CLERK: 900_000_002, Role.MANAGER: 900_000_003,
                    Role.EMPLOYEE: 900_000_004}
ANONYMOUS_CONSOLE_USER_ID = 900_000_000
# The demo accounts' password: a demo database is public by nature, never a real one.
DEMO_PASSWORD = "hoso-demo-2026"

# code, name, parent code, level
UNITS: tuple[tuple[str, str, str | None, str], ...] = (
    ("CT", "Ủy ban nhân dân thành phố Cần Thơ", None, "Tỉnh/Thành phố"),
    ("SNV", "Sở Nội vụ", "CT", "Sở, ban, ngành"),
    ("SGDDT", "Sở Giáo dục và Đào tạo", "CT", "Sở, ban, ngành"),
    ("THPT-CVL", "Trường THPT Châu Văn Liêm", "SGDDT", "Đơn vị trực thuộc"),
    ("THPT-VT", "Trường THPT chuyên Vị Thanh", "SGDDT", "Đơn vị trực thuộc"),
    ("SYT", "Sở Y tế", "CT", "Sở, ban, ngành"),
    ("BVDK-CT", "Bệnh viện Đa khoa thành phố Cần Thơ", "SYT", "Đơn vị trực thuộc"),
    ("STC", "Sở Tài chính", "CT", "Sở, ban, ngành"),
    ("STP", "Sở Tư pháp", "CT", "Sở, ban, ngành"),
    ("P-NINHKIEU", "Ủy ban nhân dân phường Ninh Kiều", "CT", "Xã, phường"),
    ("P-CAIKHE", "Ủy ban nhân dân phường Cái Khế", "CT", "Xã, phường"),
    ("P-VITHANH", "Ủy ban nhân dân phường Vị Thanh", "CT", "Xã, phường"),
    ("X-PHUNGHIEP", "Ủy ban nhân dân xã Phụng Hiệp", "CT", "Xã, phường"),
)

# username, full name, unit code, role
ACCOUNTS: tuple[tuple[str, str, str, Role], ...] = (
    ("snv.quantri", "Trần Thị Thu Hà", "SNV", Role.ADMIN),
    ("sgddt.vanthu", "Nguyễn Văn Bình", "SGDDT", Role.CLERK),
    ("sgddt.giamdoc", "Lê Hoàng Minh", "SGDDT", Role.MANAGER),
)

RANKS = (("01.002", "Chuyên viên chính"), ("01.003", "Chuyên viên"), ("01.004", "Cán sự"), ("01.005", "Nhân viên"),
         ("V.07.05.15", "Giáo viên trung học phổ thông hạng III"))
LEVELS = ("Đại học", "Đại học", "Đại học", "Thạc sĩ", "Cao đẳng", "Trung cấp", "Tiến sĩ")
MAJORS = ("Luật", "Kinh tế", "Quản trị nhân lực", "Sư phạm Toán", "Y đa khoa", "Công nghệ thông tin", "Kế toán")
SCHOOLS = ("Trường Đại học Cần Thơ", "Học viện Hành chính Quốc gia", "Trường Đại học Luật TP. Hồ Chí Minh",
           "Trường Chính trị thành phố Cần Thơ", "Trường Đại học Y Dược Cần Thơ")
POSTS = ("Chuyên viên", "Phó Trưởng phòng", "Trưởng phòng", "Kế toán", "Văn thư", "Giáo viên", "Bác sĩ")
STATE_MANAGEMENT = ("Chuyên viên", "Chuyên viên", "Chuyên viên chính", "Chuyên viên cao cấp", "Cán sự", None, None)
IT_SKILLS = ("Chứng chỉ ứng dụng CNTT cơ bản", "Chứng chỉ A", "Trung cấp tin học", "Cử nhân CNTT", None)
LANGUAGES = ("Tiếng Anh B1", "Tiếng Anh B", "Cử nhân tiếng Anh", "Tiếng Pháp A", "Tiếng Anh C", None)
BIRTHPLACES = ("Cần Thơ", "Hậu Giang", "Sóc Trăng", "Vĩnh Long", "An Giang", "Kiên Giang")
CAN_THO_ID_PREFIX = "092"


@dataclass(frozen=True, slots=True)
class DemoProvince:
    units: int
    accounts: int
    dossiers: int


def _personal_id(rng: random.Random, sex: str, born: dt.date, used: set[str]) -> str:
    # 3 digits of the province, 1 of century and sex, 2 of the birth year, 6 at random.
    century_sex = (0 if born.year < 2000 else 2) + (1 if sex == "F" else 0)
    while True:
        candidate = f"{CAN_THO_ID_PREFIX}{century_sex}{born.year % 100:02d}{rng.randrange(10**6):06d}"
        if candidate not in used:
            used.add(candidate)
            return candidate


def _name(fake: Faker, rng: random.Random, sex: str) -> str:
    if sex == "F":
        middle = "Thị" if rng.random() < 0.6 else fake.middle_name()
        return f"{fake.last_name()} {middle} {fake.first_name_female()}"
    return f"{fake.last_name()} {fake.middle_name()} {fake.first_name_male()}"


def _records(rng: random.Random, fake: Faker, recruited: dt.date, today: dt.date, unit: str) -> list[dict]:
    """A plausible history: where they studied and worked, and their close family."""
    graduated = recruited - dt.timedelta(days=rng.randint(100, 700))
    return [
        {"kind": "training", "date_from": graduated - dt.timedelta(days=4 * 365), "date_to": graduated,
         "data": {"school": rng.choice(SCHOOLS), "major": rng.choice(MAJORS), "mode": "Chính quy", "degree": "Cử nhân"}},
        {"kind": "work_history", "date_from": recruited, "date_to": None,
         "data": {"text": f"Công tác tại {unit}"}},
        {"kind": "family", "date_from": None, "date_to": None,
         "data": {"relation": "Cha", "name": f"{fake.last_name()} Văn {fake.first_name_male()}",
                  "born": str(recruited.year - rng.randint(45, 55)), "details": "Nông dân"}},
        {"kind": "family", "date_from": None, "date_to": None,
         "data": {"relation": "Mẹ", "name": f"{fake.last_name()} Thị {fake.first_name_female()}",
                  "born": str(recruited.year - rng.randint(43, 52)), "details": "Nội trợ"}},
    ]


def _qualifications(rng: random.Random, born: dt.date, recruited: dt.date, today: dt.date) -> dict[str, object]:
    """Party membership, state management, IT and a foreign language, as clerks type them; and the date
    of the current salary step, within the last four years (a few of them past their raise)."""
    joined = born + dt.timedelta(days=rng.randint(22 * 365, 40 * 365))
    return {
        "party_joined_on": joined if joined < today and rng.random() < 0.4 else None,
        "salary_since": max(recruited, today - dt.timedelta(days=rng.randint(30, 4 * 365))),
        "state_management": rng.choice(STATE_MANAGEMENT),
        "it_skill": rng.choice(IT_SKILLS),
        "foreign_language": rng.choice(LANGUAGES),
    }


async def _store(repos: Repositories, batch: list[dict], history: dict[str, list[dict]], now: dt.datetime) -> None:
    await repos.dossiers.add_many(batch)
    ids = await repos.dossiers.ids_by_personal_id(list(history))
    await repos.dossiers.add_records(
        [{**row, "dossier_id": ids[personal_id], "created_at": now} for personal_id, rows in history.items() for row in rows]
    )


async def is_empty(uow: UnitOfWork) -> bool:
    async with uow.read() as repos:
        return await repos.units.count() == 0 and await repos.accounts.count() == 0


async def seed_demo(uow: UnitOfWork, clock: Clock, size: int, seed: int = 2026) -> DemoProvince | None:
    """Seed the demo province into an empty database; None when it already holds data."""
    if size < 0:
        raise ValueError("size must not be negative")
    fake, rng = Faker("vi_VN"), random.Random(seed)
    fake.seed_instance(seed)
    # The qualifications the statistics count, drawn apart so that the rest of the province stays as it was.
    extra = random.Random(seed + 1)
    now = clock.now()
    today = now.astimezone(clock.tz).date()
    async with uow.write() as repos:
        if await repos.units.count() or await repos.accounts.count():
            return None
        units: dict[str, OrgUnit] = {}
        for code, name, parent, level in UNITS:
            parent_id = units[parent].id if parent else None
            unit = OrgUnit(code=code, name=name, parent_id=parent_id, path="", level_name=level, created_at=now)
            units[code] = await repos.units.add(unit)
        demo_hash = hash_password(DEMO_PASSWORD)
        for username, full_name, unit_code, role in ACCOUNTS:
            account = await repos.accounts.add(
                Account(
                    username=username,
                    full_name=full_name,
                    unit_id=units[unit_code].id,
                    role=role.value,
                    status="active",
                    request_ref="Demo",
                    secret_hash=demo_hash,
                    created_at=now,
                    activated_at=now,
                    last_active_at=now,
                )
            )
            # The terminal chat plays a Telegram user: each demo account is bound to its console user there.
            await repos.identities.bind(account.id, Channel.TELEGRAM, str(CONSOLE_USER_IDS[role]), now)
        workplaces = [unit for code, unit in units.items() if code != "CT"]
        used: set[str] = set()
        batch: list[dict] = []
        history: dict[str, list[dict]] = {}
        employee: dict | None = None
        clerk_units = {units[code].id for code in ("SGDDT", "THPT-CVL", "THPT-VT")}
        for _ in range(size):
            sex = "F" if rng.random() < 0.55 else "M"
            born = today - dt.timedelta(days=rng.randint(23 * 365, 59 * 365))
            name = _name(fake, rng, sex)
            unit = rng.choice(workplaces)
            rank_code, _rank = rng.choice(RANKS)
            recruited = born + dt.timedelta(days=22 * 365 + rng.randint(0, 3000))
            batch.append(
                {
                    "personal_id": _personal_id(rng, sex, born, used),
                    "full_name": name,
                    "folded_name": fold(name),
                    "sex": sex,
                    "birth_date": born,
                    "birthplace": rng.choice(BIRTHPLACES),
                    "ethnicity": "Kinh" if rng.random() < 0.9 else rng.choice(("Khmer", "Hoa")),
                    "rank_code": rank_code,
                    "post": rng.choice(POSTS),
                    "salary_step": rng.randint(1, 8),
                    "salary_coefficient": round(2.34 + 0.33 * rng.randint(0, 7), 2),
                    "recruited_on": min(recruited, today),
                    "custodian_unit_id": unit.id,
                    "working_unit_id": unit.id,
                    "employment_status": "active" if rng.random() < 0.95 else "retired",
                    "home_town": rng.choice(BIRTHPLACES),
                    "religion": "Không" if rng.random() < 0.85 else rng.choice(("Phật giáo", "Công giáo", "Cao Đài")),
                    "nationality": "Việt Nam",
                    "professional_level": rng.choice(LEVELS),
                    "major": rng.choice(MAJORS),
                    "political_theory": rng.choice(("Sơ cấp", "Trung cấp", "Cao cấp", None)),
                    **_qualifications(extra, born, min(recruited, today), today),
                    "general_education": "12/12",
                    "current_address": f"{rng.randint(1, 300)} đường {fake.last_name()} {fake.first_name_male()}, {unit.name.split()[-1]}",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if employee is None and unit.id in clerk_units and batch[-1]["employment_status"] == "active":
                employee = batch[-1]
            history[batch[-1]["personal_id"]] = _records(rng, fake, recruited, min(recruited, today), unit.name)
            if len(batch) >= 5000:
                await _store(repos, batch, history, now)
                batch, history = [], {}
        await _store(repos, batch, history, now)
        accounts = {role.value: CONSOLE_USER_IDS[role] for *_, role in ACCOUNTS}
        if employee is not None:  # a teacher of the clerk's department, to try /declare
            teacher = await repos.accounts.add(Account(
                username="gv.demo", full_name=employee["full_name"], unit_id=employee["custodian_unit_id"],
                role=Role.EMPLOYEE.value, status="active", request_ref="Demo", secret_hash=demo_hash,
                created_at=now, activated_at=now, last_active_at=now, personal_id=employee["personal_id"]))
            await repos.identities.bind(teacher.id, Channel.TELEGRAM, str(CONSOLE_USER_IDS[Role.EMPLOYEE]), now)
            accounts[Role.EMPLOYEE.value] = CONSOLE_USER_IDS[Role.EMPLOYEE]
        await repos.settings.put(DEMO_KEY, {"console_user_ids": accounts, "size": size}, now)
    return DemoProvince(units=len(UNITS), accounts=len(accounts), dossiers=size)


async def console_user_id(uow: UnitOfWork, role: Role) -> int | None:
    """The terminal-chat user id bound to the demo account of `role`, if this is a demo database."""
    async with uow.read() as repos:
        demo = await repos.settings.get(DEMO_KEY)
    if not demo:
        return None
    return demo["console_user_ids"].get(role.value)
