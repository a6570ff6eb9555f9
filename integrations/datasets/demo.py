"""The bundled demo dataset, as code: who is in it, and what each person is for.

`demo.json` and the table in `README.md` are generated from here (`python -m integrations.datasets.demo`
rewrites the one and prints the other), and a test keeps all three in step. Domain tests can drive
every decision of CONTRACT §5 from `CASES`.

Dates are relative (`today-2y`) so that the decisions hold whatever day the demo is run.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.identity.id_number import check_digit
from integrations.datasets import DEMO_PATH

ISSUED = "issued"
LOCAL = "rejected: LOCAL_HUKOU"
NOT_LOCAL = "rejected: NOT_LOCAL_HUKOU"
MISMATCH = "rejected: IDENTITY_MISMATCH"
NOT_FOUND = "rejected: IDENTITY_NOT_FOUND"
UNDER_6 = "rejected: RESIDENCE_UNDER_6_MONTHS"
NO_REG = "needs_review: NO_RESIDENCE_REGISTRATION"
NO_HOUSING = "needs_review: NO_HOUSING_RECORD"
NO_REG_NO_HOUSING = "needs_review: NO_RESIDENCE_REGISTRATION, NO_HOUSING_RECORD"
CRIMINAL = "needs_review: CRIMINAL_RECORD_FOUND"


def make_id(region: str, birth: str, sequence: int, *, gender: str, want_x: bool = False) -> str:
    """A checksum-valid id number; the sequence is nudged to match the gender (odd = male) and,
    with `want_x`, until the check character is X."""
    seq = sequence
    while True:
        if (seq % 2 == 1) == (gender == "M"):
            first17 = f"{region}{birth}{seq:03d}"
            check = check_digit(first17)
            if not want_x or check == "X":
                return first17 + check
        seq += 1


@dataclass(frozen=True)
class DemoCase:
    id_number: str
    name: str  # as the registry has it
    purpose: str
    address: str | None  # the address to file a residence permit with, as the person would type it
    residence_permit: str
    no_criminal_record: str
    household_registration: str
    file_as: str | None = None  # a name to file with instead of `name`, for the mismatch case


@dataclass
class _Builder:
    persons: list[dict[str, Any]] = field(default_factory=list)
    residence_registrations: list[dict[str, Any]] = field(default_factory=list)
    criminal_records: list[dict[str, Any]] = field(default_factory=list)
    properties: list[dict[str, Any]] = field(default_factory=list)
    leases: list[dict[str, Any]] = field(default_factory=list)

    def person(
        self,
        name: str,
        region: str,
        birth: str,
        seq: int,
        gender: str,
        *,
        hukou_address: str,
        province: str | None = None,
        head: str | None = None,
        relation: str = "本人",
        status: str = "active",
        ethnicity: str = "汉",
        want_x: bool = False,
    ) -> str:
        id_number = make_id(region, birth, seq, gender=gender, want_x=want_x)
        self.persons.append(
            {
                "id_number": id_number,
                "name": name,
                "gender": gender,
                "ethnicity": ethnicity,
                "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
                "status": status,
                "hukou": {
                    "province_code": province or region[:2],
                    "address": hukou_address,
                    "household_head_id_number": head or id_number,
                    "relation_to_head": relation,
                },
            }
        )
        return id_number

    def registered(self, id_number: str, address: str, on: str) -> None:
        self.residence_registrations.append({"id_number": id_number, "address": address, "registered_on": on})

    def owns(self, certificate: str, address: str, *owners: str) -> None:
        self.properties.append(
            {"certificate_number": certificate, "address": address, "owner_id_numbers": list(owners)}
        )

    def leases_(self, registration: str, address: str, start: str, end: str, *tenants: str) -> None:
        self.leases.append(
            {
                "registration_number": registration,
                "address": address,
                "tenant_id_numbers": list(tenants),
                "start_date": start,
                "end_date": end,
            }
        )

    def convicted(self, id_number: str, case: str, offence: str, on: str) -> None:
        self.criminal_records.append(
            {"id_number": id_number, "case_number": case, "offence": offence, "judgment_date": on}
        )

    def dataset(self) -> dict[str, Any]:
        return {
            "persons": self.persons,
            "residence_registrations": self.residence_registrations,
            "criminal_records": self.criminal_records,
            "properties": self.properties,
            "leases": self.leases,
        }


NOT_IN_DATASET = make_id("320581", "19950505", 123, gender="M")
"""A valid id number that no agency knows: IDENTITY_NOT_FOUND."""


@dataclass(frozen=True)
class _Person:
    id_number: str
    name: str


@dataclass
class _Cases:
    """The demo's people and what each is for; the two common shapes have their own helpers."""

    b: _Builder
    cases: list[DemoCase] = field(default_factory=list)

    def person(self, name: str, region: str, birth: str, seq: int, gender: str, **kwargs: Any) -> _Person:
        return _Person(self.b.person(name, region, birth, seq, gender, **kwargs), name)

    def case(
        self, p: _Person, purpose: str, address: str | None, rp: str, ncr: str, hr: str, file_as: str | None = None
    ) -> None:
        self.cases.append(DemoCase(p.id_number, p.name, purpose, address, rp, ncr, hr, file_as))

    def shanghai(self, p: _Person, purpose: str, *, ncr: str = ISSUED) -> None:
        """A Shanghai hukou: no residence permit, a household-registration certificate."""
        self.case(p, purpose, None, LOCAL, ncr, ISSUED)

    def migrant(self, p: _Person, purpose: str, address: str | None, rp: str, *, ncr: str = ISSUED) -> None:
        """A hukou elsewhere: the residence permit decides by address; no household-registration certificate."""
        self.case(p, purpose, address, rp, ncr, NOT_LOCAL)

    def renting(self, p: _Person, address: str, registered_on: str, lease: str, start: str, end: str) -> None:
        """Registered with the police at `address` and leasing it."""
        self.b.registered(p.id_number, address, registered_on)
        self.b.leases_(lease, address, start, end, p.id_number)


def _build() -> tuple[dict[str, Any], list[DemoCase]]:
    b = _Builder()
    c = _Cases(b)

    # --- happy paths first -------------------------------------------------------------------
    a = "上海市长宁区虹桥路1号5号楼301室"
    zhang = c.person("张伟", "330106", "19880312", 15, "M", hukou_address="浙江省杭州市西湖区文三路88号")
    b.registered(zhang.id_number, a, "today-3y")
    b.owns("沪(2019)长宁区不动产权第012345号", a, zhang.id_number)
    c.migrant(zhang, "happy path: residence permit via an owned flat; clean record", a, ISSUED)

    a = "上海市徐汇区漕溪北路88号12楼1203室"
    li = c.person("李娜", "340104", "19920520", 24, "F", hukou_address="安徽省合肥市蜀山区长江西路200号")
    c.renting(li, a, "today-300d", "沪租备(2025)徐汇第000123号", "today-300d", "today+65d")
    c.migrant(li, "happy path: residence permit via a lease valid today", a, ISSUED)

    shen_home = "上海市黄浦区南京东路100弄3号"
    shen = c.person("沈国强", "310101", "19650815", 31, "M", hukou_address=shen_home)
    c.shanghai(shen, "happy path: household-registration certificate; head of household (本人)")

    # --- Shanghai households -----------------------------------------------------------------
    def family(name: str, birth: str, seq: int, gender: str, relation: str, purpose: str, **kwargs: Any) -> None:
        member = c.person(
            name,
            "310101",
            birth,
            seq,
            gender,
            hukou_address=shen_home,
            head=shen.id_number,
            relation=relation,
            **kwargs,
        )
        c.shanghai(member, purpose)

    family("顾美玲", "19670302", 42, "F", "配偶", "Shanghai hukou, spouse (配偶) of 沈国强")
    family("沈浩", "19930610", 57, "M", "子", "Shanghai hukou, son (子) of 沈国强")
    family(
        "沈悦", "20010918", 60, "F", "女", "Shanghai hukou, daughter (女) of 沈国强; id number ends in X", want_x=True
    )

    lu_home = "上海市徐汇区天平路20弄5号"
    lu = c.person("陆建华", "310104", "19580101", 13, "M", hukou_address=lu_home)
    c.shanghai(lu, "Shanghai hukou, head of household (本人)")
    xu = c.person("徐秀英", "310104", "19320707", 26, "F", hukou_address=lu_home, head=lu.id_number, relation="母")
    c.shanghai(xu, "Shanghai hukou, mother (母) of 陆建华")

    wu = c.person("吴建国", "310107", "19751120", 33, "M", hukou_address="上海市普陀区曹杨路500弄12号")
    b.convicted(wu.id_number, "(2016)沪0107刑初1234号", "盗窃罪", "2016-09-12")
    c.shanghai(wu, "Shanghai hukou with a criminal record", ncr=CRIMINAL)

    huang = c.person(
        "黄丽", "340104", "19900214", 48, "F", province="31", hukou_address="上海市闵行区莘庄镇莘松路380号"
    )
    c.shanghai(huang, "born in Anhui (id starts 34) but hukou moved to Shanghai: hukou decides, not the id")

    wang_xm = c.person("王小明", "310105", "19850909", 71, "M", hukou_address="上海市长宁区愚园路1200弄8号")
    c.case(
        wang_xm,
        "name mismatch: file as 王晓明 (as 王小明: household-registration issued)",
        None,
        MISMATCH,
        MISMATCH,
        MISMATCH,
        file_as="王晓明",
    )

    # --- residence permit: every decision ------------------------------------------------------
    a = "上海市浦东新区世纪大道5号1号楼301室"
    zhao = c.person("赵敏", "430104", "19940405", 82, "F", hukou_address="湖南省长沙市岳麓区麓山南路2号")
    b.registered(zhao.id_number, "上海 浦东新区 世纪大道５号１号楼３０１室", "today-2y")
    b.leases_(
        "沪租备(2024)浦东第004567号", "浦东新区世纪大道五号一号楼三〇一室", "today-1y", "today+1y", zhao.id_number
    )
    c.migrant(
        zhao,
        "address written differently in each record (full-width digits, spaces, 上海 prefix; "
        "Chinese numerals 五/一/三〇一, no prefix): must still match",
        a,
        ISSUED,
    )

    a = "上海市静安区延安中路1000号2号楼1502室"
    wang_f = c.person("王芳", "320102", "19910711", 64, "F", hukou_address="江苏省南京市玄武区中山路18号")
    c.renting(wang_f, a, "today-1y", "沪租备(2024)静安第002222号", "today-375d", "today-10d")
    c.migrant(wang_f, "lease expired 10 days ago, no property", a, NO_HOUSING)

    a = "上海市杨浦区国定路335号8号楼602室"
    liu = c.person("刘洋", "420106", "19890103", 95, "M", hukou_address="湖北省武汉市武昌区中北路9号")
    b.registered(liu.id_number, "上海市虹口区四川北路1500号3号楼201室", "today-3y")
    c.renting(liu, a, "today-60d", "沪租备(2025)杨浦第003131号", "today-60d", "today+305d")
    c.migrant(
        liu,
        "moved 60 days ago: registered at the new address under 6 months (an older "
        "registration elsewhere does not count)",
        a,
        UNDER_6,
    )

    a = "上海市普陀区真北路1200号6号楼1101室"
    chen = c.person("陈静", "510107", "19960808", 44, "F", hukou_address="四川省成都市武侯区人民南路四段1号")
    b.leases_("沪租备(2025)普陀第001001号", a, "today-200d", "today+165d", chen.id_number)
    c.migrant(chen, "valid lease, but never registered residence with the police", a, NO_REG)

    yang = c.person("杨磊", "410105", "19870630", 17, "M", hukou_address="河南省郑州市金水区花园路66号")
    c.migrant(
        yang, "no registration and no housing record anywhere", "上海市宝山区友谊路100号1号楼101室", NO_REG_NO_HOUSING
    )

    a = "上海市长宁区仙霞路300号4号楼302室"
    sun = c.person("孙丽", "350203", "19930303", 22, "F", hukou_address="福建省厦门市思明区湖滨南路50号")
    c.renting(sun, a, "today-2y", "沪租备(2024)长宁第000777号", "today-2y", "today+1y")
    c.migrant(
        sun,
        "registered and leasing 302室, files for 301室: a different flat must not match",
        "上海市长宁区仙霞路300号4号楼301室",
        NO_REG_NO_HOUSING,
    )

    a = "上海市徐汇区宜山路700号3号楼801室"
    shandong = "山东省济南市历下区泉城路10号"
    zhou = c.person("周杰", "370102", "19860418", 35, "M", hukou_address=shandong)
    wu_t = c.person("吴婷", "370102", "19880922", 46, "F", hukou_address=shandong, head=zhou.id_number, relation="配偶")
    b.registered(zhou.id_number, a, "today-2y")
    b.registered(wu_t.id_number, a, "today-2y")
    b.leases_("沪租备(2024)徐汇第000888号", a, "today-2y", "today+1y", zhou.id_number, wu_t.id_number)
    c.migrant(zhou, "first of two tenants on one lease", a, ISSUED)
    c.migrant(wu_t, "second tenant on 周杰's lease; spouse (配偶) in a non-Shanghai household", a, ISSUED)

    a = "上海市浦东新区锦绣路1500弄20号1202室"
    ma = c.person("马超", "610113", "19840101", 51, "M", hukou_address="陕西省西安市雁塔区小寨东路3号", ethnicity="回")
    lin = c.person("林小红", "310115", "19860214", 62, "F", hukou_address=a)
    b.registered(ma.id_number, a, "today-4y")
    b.owns("沪(2020)浦字不动产权第054321号", a, lin.id_number, ma.id_number)
    c.migrant(ma, "second co-owner of a flat with his Shanghai-hukou wife 林小红", a, ISSUED)
    c.shanghai(lin, "Shanghai hukou, first co-owner of the flat 马超 files with")

    zhou_m = c.person(
        "周敏", "310110", "19900612", 86, "F", province="32", hukou_address="江苏省苏州市姑苏区人民路1000号"
    )
    a = "上海市杨浦区控江路1200号9号楼402室"
    b.registered(zhou_m.id_number, a, "today-18m")
    b.owns("沪(2021)杨字不动产权第007788号", a, zhou_m.id_number)
    c.migrant(
        zhou_m, "born in Shanghai (id starts 31) but hukou moved to Jiangsu: may get a residence permit", a, ISSUED
    )

    a = "上海市闵行区七莘路3000弄15号601室"
    he = c.person("何刚", "500103", "19820707", 77, "M", hukou_address="重庆市渝中区解放碑路8号", ethnicity="土家")
    c.renting(he, a, "today-1y", "沪租备(2024)闵行第009900号", "today-1y", "today+1y")
    b.convicted(he.id_number, "(2012)渝0103刑初567号", "危险驾驶罪", "2012-11-30")
    c.migrant(he, "criminal record; housing and registration in order", a, ISSUED, ncr=CRIMINAL)

    a = "上海市静安区共和新路2000号7号楼1001室"
    guo = c.person("郭静", "360102", "19950115", 28, "F", hukou_address="江西省南昌市东湖区八一大道100号")
    c.renting(guo, a, "today-6m", "沪租备(2025)静安第004444号", "today-6m", "today+6m")
    c.migrant(guo, "boundary: registered exactly 6 calendar months ago (not under 6 months)", a, ISSUED)

    a = "上海市宝山区牡丹江路1500号2号楼203室"
    luo = c.person("罗斌", "130102", "19880808", 39, "M", hukou_address="河北省石家庄市长安区中山东路5号")
    c.renting(luo, a, "today-6m+1d", "沪租备(2025)宝山第005555号", "today-6m+1d", "today+6m")
    c.migrant(luo, "boundary: registered 6 calendar months ago less one day", a, UNDER_6)

    a = "上海市虹口区曲阳路800号5号楼1202室"
    liang = c.person("梁宇", "230103", "19830321", 93, "M", hukou_address="黑龙江省哈尔滨市南岗区西大直街1号")
    c.renting(liang, a, "today-2y", "沪租备(2023)虹口第001212号", "today-2y", "today")
    c.migrant(liang, "boundary: lease ends today (still valid today)", a, ISSUED)

    a = "上海市黄浦区西藏南路500号11楼1105室"
    xie = c.person("谢婷", "110105", "19970228", 68, "F", hukou_address="北京市朝阳区建国路88号", ethnicity="满")
    c.renting(xie, a, "today-1y", "沪租备(2026)黄浦第000321号", "today+14d", "today+1y")
    c.migrant(xie, "registered for a year, but her lease only starts in 14 days", a, NO_HOUSING)

    # --- identity -----------------------------------------------------------------------------
    qian = c.person(
        "钱志明", "310106", "19400404", 19, "M", status="deceased", hukou_address="上海市静安区陕西北路500弄1号"
    )
    c.case(qian, "deceased (Shanghai hukou)", None, MISMATCH, MISMATCH, MISMATCH)

    a = "上海市长宁区天山路600弄3号502室"
    feng = c.person(
        "冯强", "440106", "19810505", 55, "M", status="cancelled", hukou_address="广东省广州市天河区天河路385号"
    )
    b.registered(feng.id_number, a, "today-3y")
    b.leases_("沪租备(2024)长宁第006060号", a, "today-1y", "today+1y", feng.id_number)
    c.case(
        feng,
        "registration cancelled (emigrated); housing and registration otherwise in order",
        a,
        MISMATCH,
        MISMATCH,
        MISMATCH,
    )

    c.case(
        _Person(NOT_IN_DATASET, "(any)"),
        "valid id number that no agency knows",
        "上海市长宁区虹桥路1号5号楼301室",
        NOT_FOUND,
        NOT_FOUND,
        NOT_FOUND,
    )
    return b.dataset(), c.cases


DATASET, CASES = _build()


def build() -> dict[str, Any]:
    """The demo dataset, exactly as `demo.json` holds it."""
    data: dict[str, Any] = json.loads(json.dumps(DATASET))
    return data


def render_json() -> str:
    return json.dumps(DATASET, ensure_ascii=False, indent=1) + "\n"


def render_table() -> str:
    header = (
        "| id number | name | what for | address to file with (residence permit) | residence-permit "
        "| no-criminal-record | household-registration |\n|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for c in CASES:
        name = f"{c.name} (file as {c.file_as})" if c.file_as else c.name
        rows.append(
            f"| `{c.id_number}` | {name} | {c.purpose} | {c.address or '—'} | {c.residence_permit} "
            f"| {c.no_criminal_record} | {c.household_registration} |"
        )
    return header + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Rewrite demo.json; print the README table.")
    parser.add_argument("--out", type=Path, default=DEMO_PATH)
    args = parser.parse_args()
    args.out.write_text(render_json(), encoding="utf-8")
    print(render_table(), end="")


if __name__ == "__main__":
    main()
