"""A demo province for trying HoSo offline: a unit tree, four accounts and N dossiers.

Cần Thơ as it stands after the 2025 reorganisation (Hậu Giang and Sóc Trăng merged in, no district level),
drawn to look like the real thing to a Sở Nội vụ: family names in their national shares, middle names by
sex, whole addresses, each unit with the posts it has and each post with its ranks, qualifications that fit
the rank, salary steps from the table on dates that keep the raise periods, retirement at the legal age,
and a realistic few problems for the inspection to find (tests/test_demo.py holds it to that).
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, TypeVar

from services.accounts.service import hash_password
from services.core.actor import Channel, Role
from services.core.clock import Clock, add_months
from services.core.text import fold
from services.regime.reference import shipped
from services.regime.retirement import retirement_date
from services.regime.salary import salary_scale, step_on_new_rank
from storage import Repositories, UnitOfWork
from storage.models import Account, OrgUnit

T = TypeVar("T")

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

CAN_THO_ID_PREFIX = "092"


class Shares(Generic[T]):
    """Values drawn in the given shares (weights, not necessarily summing to 100)."""

    __slots__ = ("_cumulative", "_total", "values")

    def __init__(self, *pairs: tuple[T, float]) -> None:
        self.values = tuple(value for value, _weight in pairs)
        self._cumulative = tuple(accumulate(weight for _value, weight in pairs))
        self._total = self._cumulative[-1]

    def draw(self, rng: random.Random) -> T:
        return self.values[bisect(self._cumulative, rng.random() * self._total)]

    def share(self, value: T) -> float:
        index = self.values.index(value)
        return (self._cumulative[index] - (self._cumulative[index - 1] if index else 0.0)) / self._total


# Family names in their national shares (Nguyễn about 38%); in the Mekong delta Huỳnh and Võ are the usual
# spellings of Hoàng and Vũ. The Khmer and Hoa of the province carry their own.
FAMILY_NAMES = Shares(
    ("Nguyễn", 38.4), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.0), ("Huỳnh", 3.6), ("Hoàng", 1.5), ("Phan", 4.5),
    ("Võ", 3.0), ("Vũ", 0.9), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0),
    ("Lý", 0.5), ("Trương", 1.4), ("Đinh", 0.9), ("Lâm", 0.9), ("Mai", 0.8), ("Đoàn", 0.8), ("Lương", 0.6),
    ("Châu", 0.7), ("Cao", 0.6), ("Tô", 0.5), ("Thái", 0.5), ("Lưu", 0.5), ("Tạ", 0.4), ("Quách", 0.4), ("Hà", 0.5),
    ("Trịnh", 0.5), ("Tăng", 0.3), ("Kiều", 0.2), ("Diệp", 0.2),
)
FAMILY_NAMES_BY_ETHNICITY = {
    "Khmer": Shares(("Thạch", 35), ("Sơn", 25), ("Kim", 15), ("Danh", 15), ("Lâm", 5), ("Lý", 5)),
    "Hoa": Shares(("Lâm", 25), ("Quách", 15), ("Lý", 15), ("Trương", 15), ("Hứa", 10), ("Tăng", 10), ("Mã", 10)),
}
ETHNICITIES = Shares(("Kinh", 94.5), ("Khmer", 4.0), ("Hoa", 1.5))
# "Thị" is a woman's middle name and "Văn" a man's; the others are given to both or to one by custom.
MIDDLE_NAMES = {
    "M": Shares(("Văn", 35), ("Minh", 8), ("Hữu", 7), ("Đức", 6), ("Quốc", 6), ("Thanh", 5), ("Công", 5),
                ("Hoàng", 4), ("Tấn", 4), ("Trọng", 3), ("Quang", 3), ("Duy", 3), ("Thành", 3), ("Chí", 3),
                ("Trung", 2), ("Nhật", 2), ("Gia", 2), ("Phước", 2), ("Hoài", 1)),
    "F": Shares(("Thị", 40), ("Ngọc", 8), ("Thị Thu", 4), ("Thị Ngọc", 4), ("Thanh", 5), ("Thu", 4), ("Kim", 4),
                ("Mỹ", 4), ("Hồng", 3), ("Thùy", 3), ("Bích", 3), ("Phương", 3), ("Minh", 2), ("Thị Kim", 2),
                ("Thị Mỹ", 2), ("Diễm", 2), ("Tuyết", 2), ("Hoài", 2), ("Bảo", 2)),
}
GIVEN_NAMES = {
    "M": ("Hùng", "Dũng", "Tuấn", "Minh", "Hải", "Nam", "Phong", "Thắng", "Long", "Khoa", "Tài", "Trí", "Bình", "Hiếu",
          "Nghĩa", "Phúc", "Sơn", "Thành", "Quân", "Huy", "Toàn", "Tâm", "Lộc", "Khang", "Vinh", "Cường", "Đạt",
          "Hưng", "Thịnh", "Tùng", "Kiên", "Tú", "Hậu", "Nhân", "Thiện", "Hoàng", "Duy", "Khải", "Trung", "Bảo"),
    "F": ("Anh", "Trang", "Linh", "Hương", "Lan", "Hạnh", "Thảo", "Nhung", "Hà", "Ngân", "Phương", "Dung", "Thủy",
          "Huyền", "Mai", "Tuyết", "Hằng", "Yến", "Nga", "Trinh", "Diễm", "Loan", "Hồng", "Vy", "Nhi", "Quyên",
          "Uyên", "Thư", "Giang", "Oanh", "Liên", "Xuân", "Vân", "Hiền", "Châu", "Ngọc", "My", "Thanh"),
}

# Where people live: streets and wards of the city (after 2025), and communes with their hamlets.
STREETS = ("30 Tháng 4", "3 Tháng 2", "Nguyễn Văn Cừ", "Mậu Thân", "Trần Hưng Đạo", "Hòa Bình", "Nguyễn Trãi",
           "Lý Tự Trọng", "Trần Phú", "Võ Văn Kiệt", "Cách Mạng Tháng 8", "Nguyễn Văn Linh", "Hùng Vương",
           "Trần Văn Hoài", "Lê Hồng Phong", "Huỳnh Cương", "Nguyễn Việt Hồng", "Trần Quang Diệu", "Phan Đình Phùng",
           "Hai Bà Trưng", "Trần Ngọc Quế", "Lê Lợi")
WARDS = ("Ninh Kiều", "Cái Khế", "Tân An", "An Bình", "Bình Thủy", "Long Tuyền", "Cái Răng", "Hưng Phú", "Ô Môn",
         "Thốt Nốt", "Vị Thanh", "Vị Tân", "Ngã Bảy", "Phú Lợi", "Sóc Trăng")
COMMUNES = ("Phụng Hiệp", "Phong Điền", "Thới Lai", "Cờ Đỏ", "Vĩnh Thạnh", "Châu Thành", "Trường Long",
            "Tân Hòa", "Vị Thủy", "Kế Sách", "Mỹ Tú")
HAMLETS = ("Thạnh Lợi", "Tân Thạnh", "Phú Lợi", "Nhơn Lộc", "Mỹ Phước", "Trường Thọ", "Long Hòa", "Tân Phú",
           "Hòa An", "Thới Hưng")
# Birthplaces and home towns as the old provinces were called when these people were born.
BIRTHPLACES = ("Cần Thơ", "Hậu Giang", "Sóc Trăng", "Vĩnh Long", "An Giang", "Kiên Giang", "Bạc Liêu", "Trà Vinh")
HOME_PROVINCES = Shares(("Cần Thơ", 45), ("Hậu Giang", 15), ("Sóc Trăng", 12), ("Vĩnh Long", 8), ("An Giang", 6),
                        ("Kiên Giang", 5), ("Bạc Liêu", 3), ("Trà Vinh", 3), ("Bến Tre", 2), ("Đồng Tháp", 1))
RELIGIONS = Shares(("Không", 80), ("Phật giáo", 9), ("Công giáo", 4), ("Cao Đài", 3), ("Phật giáo Hòa Hảo", 4))
FATHER_WORK = ("Nông dân", "Công nhân", "Cán bộ hưu trí", "Buôn bán", "Giáo viên nghỉ hưu", "Lái xe")
MOTHER_WORK = ("Nội trợ", "Nông dân", "Buôn bán", "Giáo viên nghỉ hưu", "Công nhân", "Thợ may")


# The ranks of the reference list: name, salary group, raise period in months.
@dataclass(frozen=True, slots=True)
class Rank:
    code: str
    name: str
    group: str
    raise_months: int


RANKS_BY_CODE = {entry.code: Rank(entry.code, entry.name, str(entry.extra["group"]), int(entry.extra["raise_months"]))
                 for entry in shipped()["rank"]}
# A rank reached from a lower one of its ladder after so many years on it at the least.
PROMOTED_FROM = {"01.002": ("01.003", 9), "01.001": ("01.002", 6), "06.030": ("06.031", 9),
                 "V.07.05.14": ("V.07.05.15", 6), "V.07.05.13": ("V.07.05.14", 6), "V.08.01.02": ("V.08.01.03", 6),
                 "V.08.01.01": ("V.08.01.02", 6), "V.08.05.12": ("V.08.05.13", 6)}
# The professional level a rank's group asks for, in realistic shares (doctorates are rare, and senior).
EDUCATION = {
    "A3.1": Shares(("Thạc sĩ", 55), ("Tiến sĩ", 20), ("Đại học", 25)),
    "A2.1": Shares(("Đại học", 52), ("Thạc sĩ", 45), ("Tiến sĩ", 3)),
    "A2.2": Shares(("Đại học", 75), ("Thạc sĩ", 25)),
    "A1": Shares(("Đại học", 87), ("Thạc sĩ", 13)),
    "A0": Shares(("Cao đẳng", 65), ("Trung cấp", 35)),
    "B": Shares(("Trung cấp", 80), ("Cao đẳng", 10), ("Sơ cấp", 10)),
}
UNIVERSITY = frozenset({"Đại học", "Thạc sĩ", "Tiến sĩ"})
# Age at recruitment by the first degree.
RECRUITED_AGE = {"Đại học": (22, 28), "Cao đẳng": (21, 27), "Trung cấp": (19, 26), "Sơ cấp": (19, 28)}


@dataclass(frozen=True, slots=True)
class Post:
    title: str
    ranks: Shares[str]
    majors: tuple[str, ...]
    tier: str = "staff"  # "head" of the unit, a "deputy" or middle leader, or "staff"


OFFICE = ("Luật", "Kinh tế", "Quản trị nhân lực", "Hành chính học", "Tài chính - Ngân hàng", "Công nghệ thông tin",
          "Quản lý nhà nước")
TEACHING = ("Sư phạm Toán", "Sư phạm Ngữ văn", "Sư phạm Vật lý", "Sư phạm Hóa học", "Sư phạm Sinh học",
            "Sư phạm Tiếng Anh", "Sư phạm Lịch sử", "Sư phạm Địa lý", "Sư phạm Tin học", "Giáo dục thể chất")
CLERICAL = ("Văn thư - Lưu trữ", "Hành chính văn phòng")
ACCOUNTING = ("Kế toán",)
ACCOUNTANT = Post("Kế toán", Shares(("06.031", 70), ("06.030", 8), ("06.032", 22)), ACCOUNTING)
ARCHIVIST = Post("Văn thư", Shares(("01.004", 50), ("01.005", 50)), CLERICAL)
# Each kind of unit with the posts it has, in their shares: no doctor at a school, no teacher in a ward.
POSTS_BY_KIND: dict[str, Shares[Post]] = {
    "department": Shares(
        (Post("Chuyên viên", Shares(("01.003", 80), ("01.002", 18), ("01.001", 2)), OFFICE), 62),
        (Post("Phó Trưởng phòng", Shares(("01.003", 40), ("01.002", 60)), OFFICE, "deputy"), 8),
        (Post("Trưởng phòng", Shares(("01.002", 85), ("01.003", 15)), OFFICE, "deputy"), 5),
        (Post("Phó Giám đốc Sở", Shares(("01.002", 70), ("01.001", 30)), OFFICE, "head"), 1.2),
        (Post("Giám đốc Sở", Shares(("01.001", 60), ("01.002", 40)), OFFICE, "head"), 0.4),
        (ACCOUNTANT, 5), (ARCHIVIST, 4),
        (Post("Nhân viên", Shares(("01.005", 1),), CLERICAL), 5),
    ),
    "school": Shares(
        (Post("Giáo viên", Shares(("V.07.05.15", 55), ("V.07.05.14", 38), ("V.07.05.13", 7)), TEACHING), 85),
        (Post("Tổ trưởng chuyên môn", Shares(("V.07.05.14", 70), ("V.07.05.13", 30)), TEACHING, "deputy"), 6),
        (Post("Phó Hiệu trưởng", Shares(("V.07.05.14", 60), ("V.07.05.13", 40)), TEACHING, "deputy"), 1.5),
        (Post("Hiệu trưởng", Shares(("V.07.05.13", 70), ("V.07.05.14", 30)), TEACHING, "head"), 0.6),
        (ACCOUNTANT, 2), (ARCHIVIST, 2),
        (Post("Nhân viên thư viện", Shares(("01.005", 1),), CLERICAL), 2),
    ),
    "hospital": Shares(
        (Post("Bác sĩ", Shares(("V.08.01.03", 60), ("V.08.01.02", 36), ("V.08.01.01", 4)), ("Y đa khoa",)), 30),
        (Post("Điều dưỡng", Shares(("V.08.05.13", 55), ("V.08.05.14", 30), ("V.08.05.12", 15)), ("Điều dưỡng",)), 50),
        (Post("Phó Trưởng khoa", Shares(("V.08.01.02", 80), ("V.08.01.03", 20)), ("Y đa khoa",), "deputy"), 3),
        (Post("Trưởng khoa", Shares(("V.08.01.02", 70), ("V.08.01.01", 30)), ("Y đa khoa",), "deputy"), 2.5),
        (Post("Phó Giám đốc Bệnh viện", Shares(("V.08.01.02", 50), ("V.08.01.01", 50)), ("Y đa khoa",), "head"), 0.4),
        (Post("Giám đốc Bệnh viện", Shares(("V.08.01.01", 1),), ("Y đa khoa",), "head"), 0.1),
        (ACCOUNTANT, 4), (ARCHIVIST, 3),
        (Post("Nhân viên hành chính", Shares(("01.004", 40), ("01.005", 60)), CLERICAL), 5),
    ),
    "commune": Shares(
        (Post("Chủ tịch Ủy ban nhân dân", Shares(("01.002", 40), ("01.003", 60)), OFFICE, "head"), 1),
        (Post("Phó Chủ tịch Ủy ban nhân dân", Shares(("01.003", 80), ("01.002", 20)), OFFICE, "deputy"), 2),
        (Post("Công chức Văn phòng - Thống kê", Shares(("01.003", 75), ("01.004", 25)), OFFICE), 15),
        (Post("Công chức Tư pháp - Hộ tịch", Shares(("01.003", 80), ("01.004", 20)), ("Luật",)), 15),
        (Post("Công chức Địa chính - Xây dựng", Shares(("01.003", 75), ("01.004", 25)),
              ("Quản lý đất đai", "Xây dựng")), 15),
        (Post("Công chức Tài chính - Kế toán", Shares(("06.031", 70), ("01.003", 30)), ACCOUNTING), 12),
        (Post("Công chức Văn hóa - Xã hội", Shares(("01.003", 75), ("01.004", 25)), ("Công tác xã hội", "Văn hóa học")), 12),
        (Post("Nhân viên", Shares(("01.005", 1),), CLERICAL), 4),
    ),
}
# The kind of each workplace, and its share of the province's people.
UNIT_KINDS = {"SNV": ("department", 5), "SGDDT": ("department", 5), "STC": ("department", 5), "STP": ("department", 4),
              "SYT": ("department", 4), "THPT-CVL": ("school", 10), "THPT-VT": ("school", 8),
              "BVDK-CT": ("hospital", 30), "P-NINHKIEU": ("commune", 6), "P-CAIKHE": ("commune", 5),
              "P-VITHANH": ("commune", 5), "X-PHUNGHIEP": ("commune", 4)}
SCHOOLS_BY_MAJOR = {"Y đa khoa": ("Trường Đại học Y Dược Cần Thơ",),
                    "Điều dưỡng": ("Trường Cao đẳng Y tế Cần Thơ", "Trường Đại học Y Dược Cần Thơ"),
                    "Luật": ("Trường Đại học Luật TP. Hồ Chí Minh", "Trường Đại học Cần Thơ"),
                    "Hành chính học": ("Học viện Hành chính Quốc gia",),
                    "Quản lý nhà nước": ("Học viện Hành chính Quốc gia",)}
SCHOOLS = ("Trường Đại học Cần Thơ", "Trường Đại học Kinh tế TP. Hồ Chí Minh", "Trường Đại học Sư phạm TP. Hồ Chí Minh",
           "Trường Đại học Tây Đô", "Trường Đại học Nam Cần Thơ")
VOCATIONAL_SCHOOLS = ("Trường Cao đẳng Cần Thơ", "Trường Cao đẳng Kinh tế - Kỹ thuật Cần Thơ",
                      "Trường Cao đẳng Nghề Cần Thơ")
# Political theory by the post's tier; "Cao cấp" only with a university degree.
POLITICAL_THEORY: dict[str, Shares[str | None]] = {"head": Shares(("Cao cấp", 75), ("Trung cấp", 25)),
                    "deputy": Shares(("Trung cấp", 65), ("Cao cấp", 15), ("Sơ cấp", 20)),
                    "staff": Shares(("Sơ cấp", 42), ("Trung cấp", 6), (None, 52))}
STATE_MANAGEMENT_BY_GROUP = {"A3.1": "Chuyên viên cao cấp", "A2.1": "Chuyên viên chính", "A2.2": "Chuyên viên chính",
                             "A1": "Chuyên viên", "A0": "Cán sự"}
IT_SKILLS = Shares(("Chứng chỉ ứng dụng CNTT cơ bản", 55), ("Chứng chỉ ứng dụng CNTT nâng cao", 8),
                   ("Chứng chỉ tin học A", 12), (None, 25))
LANGUAGES = Shares(("Tiếng Anh B1", 35), ("Tiếng Anh A2", 20), ("Tiếng Anh B", 10), ("Tiếng Anh B2", 5),
                   ("Tiếng Pháp A", 1), (None, 29))
# The few problems a real province has, for the inspection to find (shares of the dossiers).
INCOMPLETE, RAISE_MISSED, PAST_RETIREMENT, OLD_ID_CARD, ENTERED_TWICE = 0.07, 0.015, 0.003, 0.0005, 0.0003
MISSING_FIELD = Shares(("permanent_address", 40), ("home_town", 20), ("professional_level", 10), ("post", 10),
                       ("birthplace", 10), ("ethnicity", 10))
RETIRED, RESIGNED, PROBATION_MONTHS = 0.05, 0.01, 6
LEADER_AGE = {"head": 42, "deputy": 32, "staff": 0}


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


def _old_id_card(rng: random.Random, used: set[str]) -> str:
    """A 9-digit identity card of the old kind (Cần Thơ's began with 36), never replaced in the dossier."""
    while True:
        candidate = f"36{rng.randrange(10**7):07d}"
        if candidate not in used:
            used.add(candidate)
            return candidate


def full_name(rng: random.Random, sex: str, ethnicity: str = "Kinh", family: str | None = None) -> str:
    """Family, middle and given name in the Vietnamese order, the middle name by sex."""
    family = family or FAMILY_NAMES_BY_ETHNICITY.get(ethnicity, FAMILY_NAMES).draw(rng)
    return f"{family} {MIDDLE_NAMES[sex].draw(rng)} {rng.choice(GIVEN_NAMES[sex])}"


def _address(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.randint(1, 320)} đường {rng.choice(STREETS)}, phường {rng.choice(WARDS)}, thành phố Cần Thơ"
    return f"ấp {rng.choice(HAMLETS)}, xã {rng.choice(COMMUNES)}, thành phố Cần Thơ"


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end`."""
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


@dataclass(frozen=True, slots=True)
class Salary:
    step: int
    coefficient: float
    since: dt.date
    over_ceiling_percent: int | None


def salary_on(rank: Rank, rank_since: dt.date, first_step: int, day: dt.date) -> Salary:
    """The step held on `day` by someone who entered `rank` at `first_step` on `rank_since` and had every
    regular raise on time: a step each raise period, then the over-ceiling allowance (5%, +1% a year)."""
    steps = salary_scale()[rank.group]
    raises = months_between(rank_since, day) // rank.raise_months
    if first_step + raises <= len(steps):
        return Salary(first_step + raises, steps[first_step + raises - 1],
                      add_months(rank_since, raises * rank.raise_months), None)
    over_from = add_months(rank_since, (len(steps) - first_step + 1) * rank.raise_months)
    years = months_between(over_from, day) // 12
    return Salary(len(steps), steps[-1], add_months(over_from, 12 * years), 5 + years)


def _career(rng: random.Random, code: str, recruited: dt.date, end: dt.date) -> tuple[Rank, dt.date, int]:
    """The rank held on `end` on the way to `code`, when it was reached and its first step: a senior rank
    comes after years on the rank below, on the first step not lower than the salary held there."""
    ladder = [code]
    while ladder[-1] in PROMOTED_FROM:
        ladder.append(PROMOTED_FROM[ladder[-1]][0])
    ladder.reverse()
    since, first_step = recruited, 1
    for lower, higher in zip(ladder, ladder[1:], strict=False):
        reached = add_months(since, 12 * (PROMOTED_FROM[higher][1] + rng.randint(0, 4)))
        if reached > end:
            return RANKS_BY_CODE[lower], since, first_step
        held = salary_on(RANKS_BY_CODE[lower], since, first_step, reached)
        since, first_step = reached, step_on_new_rank(RANKS_BY_CODE[higher].group, held.coefficient).step
    return RANKS_BY_CODE[ladder[-1]], since, first_step


def _born_in_service(rng: random.Random, sex: str, today: dt.date) -> dt.date:
    while True:
        born = today - dt.timedelta(days=int(rng.triangular(23, 62, 40) * 365.25))
        if retirement_date(sex, born) >= today:
            return born


def _born_retired(rng: random.Random, sex: str, today: dt.date, within_days: int) -> dt.date:
    """Someone whose retirement date passed in the last `within_days` days."""
    retired_on = today - dt.timedelta(days=rng.randint(1, within_days))
    born = add_months(retired_on, -(62 if sex == "M" else 60) * 12)
    while retirement_date(sex, born) >= today:  # the age rises each year: go back until it has passed
        born = add_months(born, -1)
    return born


def _training(rng: random.Random, level: str, major: str, born: dt.date, recruited: dt.date,
              today: dt.date) -> list[dict]:
    """Where they studied: the first degree before recruitment, a postgraduate one later."""
    first = level if level not in ("Thạc sĩ", "Tiến sĩ") else "Đại học"
    vocational = first in ("Cao đẳng", "Trung cấp", "Sơ cấp")
    school = rng.choice(VOCATIONAL_SCHOOLS if vocational and major != "Điều dưỡng"
                        else SCHOOLS_BY_MAJOR.get(major, SCHOOLS))
    if major == "Y đa khoa":
        degree = "Bác sĩ"
    elif first == "Đại học":
        degree = "Kỹ sư" if major in ("Công nghệ thông tin", "Xây dựng") else "Cử nhân"
    else:
        degree = first
    years = {"Đại học": 6 if major == "Y đa khoa" else 4, "Cao đẳng": 3, "Trung cấp": 2, "Sơ cấp": 1}[first]
    graduated = min(recruited - dt.timedelta(days=rng.randint(60, 500)), add_months(born, 12 * 30))
    rows = [{"kind": "training", "date_from": add_months(graduated, -12 * years), "date_to": graduated,
             "data": {"school": school, "major": major, "mode": "Chính quy", "degree": degree}}]
    if level in ("Thạc sĩ", "Tiến sĩ"):
        done = min(add_months(recruited, 12 * rng.randint(3, 8)), today - dt.timedelta(days=30))
        rows.append({"kind": "training", "date_from": add_months(done, -24 if level == "Thạc sĩ" else -48),
                     "date_to": done, "data": {"school": rng.choice(SCHOOLS_BY_MAJOR.get(major, SCHOOLS)),
                                               "major": major, "mode": "Vừa làm vừa học", "degree": level}})
    return rows


def _family(rng: random.Random, family_name: str, born: dt.date) -> list[dict]:
    """Father (whose family name they carry) and mother."""
    return [
        {"kind": "family", "date_from": None, "date_to": None,
         "data": {"relation": "Cha", "name": full_name(rng, "M", family=family_name),
                  "born": str(born.year - rng.randint(23, 38)), "details": rng.choice(FATHER_WORK)}},
        {"kind": "family", "date_from": None, "date_to": None,
         "data": {"relation": "Mẹ", "name": full_name(rng, "F"),
                  "born": str(born.year - rng.randint(20, 34)), "details": rng.choice(MOTHER_WORK)}},
    ]


def _qualifications(rng: random.Random, post: Post, rank: Rank, level: str, major: str, ethnicity: str,
                    born: dt.date, today: dt.date) -> dict[str, object]:
    """Political theory, state management, IT and language, as they go with the post, rank and degree; the
    party membership of a leader is the rule, of the staff the exception."""
    theory = POLITICAL_THEORY[post.tier].draw(rng)
    if theory == "Cao cấp" and level not in UNIVERSITY:
        theory = "Trung cấp"
    civil_servant = not rank.code.startswith("V.")
    management = STATE_MANAGEMENT_BY_GROUP.get(rank.group)
    if not (civil_servant and rng.random() < 0.85 or post.tier != "staff"):
        management = None  # a viên chức on the staff is trained for the profession, not for management
    language = LANGUAGES.draw(rng)
    if major == "Sư phạm Tiếng Anh":
        language = "Cử nhân tiếng Anh"
    elif ethnicity == "Khmer" and rng.random() < 0.5:
        language = "Tiếng Khmer"
    joined = add_months(born, 12 * rng.randint(23, 38))
    member = rng.random() < {"head": 0.97, "deputy": 0.85, "staff": 0.3}[post.tier] and joined < today
    return {
        "political_theory": theory,
        "state_management": management,
        "it_skill": "Kỹ sư CNTT" if major == "Công nghệ thông tin" else IT_SKILLS.draw(rng),
        "foreign_language": language,
        "party_joined_on": joined if member else None,
        "party_official_on": add_months(joined, 12) if member and add_months(joined, 12) < today else None,
    }


def draw_person(rng: random.Random, today: dt.date, kind: str, used: set[str]) -> tuple[dict, list[dict], bool]:
    """One person of a unit of `kind`, drawn whole: the dossier's row, its history records, and whether it was
    drawn without a problem. The import benchmark writes the same people into its spreadsheet."""
    sex = "F" if rng.random() < 0.55 else "M"
    ethnicity = ETHNICITIES.draw(rng)
    family_name = FAMILY_NAMES_BY_ETHNICITY.get(ethnicity, FAMILY_NAMES).draw(rng)
    name = full_name(rng, sex, family=family_name)
    roll = rng.random()
    status, clean = "active", True
    if roll < RETIRED:
        born, status = _born_retired(rng, sex, today, 3650), "retired"
    elif roll < RETIRED + PAST_RETIREMENT:
        born, clean = _born_retired(rng, sex, today, 120), False  # in service past the date: a finding
    else:
        born = _born_in_service(rng, sex, today)
    age = months_between(born, today) // 12
    post = POSTS_BY_KIND[kind].draw(rng)
    while age < LEADER_AGE[post.tier]:  # no one heads a department at 30
        post = POSTS_BY_KIND[kind].draw(rng)
    code = post.ranks.draw(rng)
    level = EDUCATION[RANKS_BY_CODE[code].group].draw(rng)
    first_degree = level if level in RECRUITED_AGE else "Đại học"
    low, high = RECRUITED_AGE[first_degree]
    recruited = min(add_months(born, 12 * rng.randint(low, high) + rng.randint(0, 11)), today)
    end = today
    if status == "retired":
        end = retirement_date(sex, born)
    elif rng.random() < RESIGNED / (1 - RETIRED):
        status, end = "resigned", recruited + dt.timedelta(days=rng.randint(0, max(0, (today - recruited).days)))
    rank, rank_since, first_step = _career(rng, code, recruited, end)
    if RANKS_BY_CODE[code].group != rank.group:  # not yet on the post's rank: the degree of the one held
        level = EDUCATION[rank.group].draw(rng)
    salary = salary_on(rank, rank_since, first_step, end)
    if status == "active" and months_between(recruited, today) < PROBATION_MONTHS:
        status = "probation"
    if status == "active" and clean and rng.random() < RAISE_MISSED and salary.over_ceiling_percent is None \
            and salary.step > first_step:  # the last raise was never decided: a finding
        raises = (salary.step - first_step) - 1
        salary = Salary(salary.step - 1, salary_scale()[rank.group][salary.step - 2],
                        add_months(rank_since, raises * rank.raise_months), None)
        clean = False
    major = rng.choice(post.majors)
    current = _address(rng)
    row: dict[str, object] = {
        "personal_id": _personal_id(rng, sex, born, used),
        "full_name": name,
        "folded_name": fold(name),
        "sex": sex,
        "birth_date": born,
        "birthplace": rng.choice(BIRTHPLACES),
        "ethnicity": ethnicity,
        "rank_code": rank.code,
        "rank_name": rank.name,
        "rank_since": rank_since,
        "post": post.title,
        "salary_step": salary.step,
        "salary_coefficient": salary.coefficient,
        "salary_since": salary.since,
        "over_ceiling_percent": salary.over_ceiling_percent,
        "recruited_on": recruited,
        "employment_status": status,
        "home_town": HOME_PROVINCES.draw(rng),
        "religion": "Phật giáo" if ethnicity == "Khmer" else RELIGIONS.draw(rng),
        "nationality": "Việt Nam",
        "professional_level": level,
        "major": major,
        "general_education": "12/12",
        "current_address": current,
        "permanent_address": current if rng.random() < 0.75 else _address(rng),
        **_qualifications(rng, post, rank, level, major, ethnicity, born, today),
    }
    if rng.random() < INCOMPLETE:
        row[MISSING_FIELD.draw(rng)] = None
        clean = False
    if rng.random() < OLD_ID_CARD:
        used.discard(str(row["personal_id"]))
        row["personal_id"], clean = _old_id_card(rng, used), False
    records = [*_training(rng, level, major, born, recruited, today), *_family(rng, family_name, born)]
    return row, records, clean


async def _store(repos: Repositories, batch: list[dict], history: dict[str, list[dict]], now: dt.datetime) -> None:
    await repos.dossiers.add_many(batch)
    ids = await repos.dossiers.ids_by_personal_id(list(history))
    await repos.dossiers.add_records(
        [{**row, "dossier_id": ids[personal_id], "created_at": now} for personal_id, rows in history.items() for row in rows]
    )


async def is_empty(uow: UnitOfWork) -> bool:
    async with uow.read() as repos:
        return await repos.units.count() == 0 and await repos.accounts.count() == 0


# How a batch of drawn dossiers and their records is written: `_store` through the repositories; a benchmark may
# pass a faster writer for its backend (bench/scale.py copies into PostgreSQL).
Store = Callable[[Repositories, list[dict], dict[str, list[dict]], dt.datetime], Awaitable[None]]


async def seed_demo(uow: UnitOfWork, clock: Clock, size: int, seed: int = 2026,
                    store: Store = _store) -> DemoProvince | None:
    """Seed the demo province into an empty database; None when it already holds data."""
    if size < 0:
        raise ValueError("size must not be negative")
    rng = random.Random(seed)
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
        for username, full_name_, unit_code, role in ACCOUNTS:
            account = await repos.accounts.add(
                Account(
                    username=username,
                    full_name=full_name_,
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
        workplaces = Shares(*((code, weight) for code, (_kind, weight) in UNIT_KINDS.items()))
        used: set[str] = set()
        batch: list[dict] = []
        history: dict[str, list[dict]] = {}
        employee: dict | None = None
        clerk_units = {units[code].id for code in ("SGDDT", "THPT-CVL", "THPT-VT")}
        for _ in range(size):
            code = workplaces.draw(rng)
            unit = units[code]
            row, records, clean = draw_person(rng, today, UNIT_KINDS[code][0], used)
            if batch and rng.random() < ENTERED_TWICE:  # the same person entered again under another ID
                previous = batch[-1]
                row.update(full_name=previous["full_name"], folded_name=previous["folded_name"],
                           sex=previous["sex"], birth_date=previous["birth_date"])
                records = [record for record in history[str(previous["personal_id"])] if record["kind"] != "work_history"]
                clean = False
            row.update(custodian_unit_id=unit.id, working_unit_id=unit.id, created_at=now, updated_at=now)
            records.append({"kind": "work_history", "date_from": row["recruited_on"], "date_to": None,
                            "data": {"text": f"{row['post'] or 'Công tác'}, {unit.name}"}})
            batch.append(row)
            if employee is None and clean and unit.id in clerk_units and row["employment_status"] == "active":
                employee = row
            history[str(row["personal_id"])] = records
            if len(batch) >= 5000:
                await store(repos, batch, history, now)
                batch, history = [], {}
        await store(repos, batch, history, now)
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
