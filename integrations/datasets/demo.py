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
NO_PERMIT = "rejected: NO_VALID_PERMIT"
STILL_VALID = "409: CERTIFICATE_STILL_VALID"  # refused at filing: a newer permit of theirs is valid
NOT_SAME_HOUSEHOLD = "needs_review: NOT_SAME_HOUSEHOLD"
RELATIVE_NOT_FOUND = "rejected: RELATIVE_NOT_FOUND"
_IDENTITY_FAILS = (MISMATCH, NOT_FOUND)


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
    residence_registration: str
    kinship: str
    temporary_identity: str
    relative: str | None  # the relative to file a kinship certificate about (id number)
    file_as: str | None = None  # a name to file with instead of `name`, for the mismatch case


@dataclass(frozen=True)
class PermitCase:
    """A renewal or change of address of a residence permit the holder got earlier through the API.

    `holder` gets a residence permit at `permit_address` (a clerk approves it if it goes to review);
    `state` then says what became of it before `filer` files: valid, expired N days ago, revoked,
    superseded (renewed once already), or, instead of a permit, an unknown serial or the holder's
    no-criminal-record certificate. The filer is the holder unless said."""

    service: str  # residence-permit-renewal | residence-permit-address-change
    holder: str
    holder_name: str
    permit_address: str
    state: str  # valid | expired-<N>d | revoked | superseded | unknown-serial | not-a-permit
    expected: str
    purpose: str
    new_address: str | None = None  # address change only
    filer: str | None = None  # id number, when someone else files with the holder's serial
    filer_name: str | None = None
    file_as: str | None = None  # a name to file with instead of the filer's, for the mismatch case


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


ZHANG_WEI_NEW_ADDRESS = "上海市长宁区古北路1000弄8号1203室"

NOT_IN_DATASET = make_id("320581", "19950505", 123, gender="M")
"""A valid id number that no agency knows: IDENTITY_NOT_FOUND."""


def _registration_follows(rp: str) -> str:
    """Residence registration asks what a residence permit asks, less the police registration itself."""
    if rp in (NO_HOUSING, NO_REG_NO_HOUSING):
        return NO_HOUSING
    return ISSUED if rp in (NO_REG, UNDER_6) else rp


def _build() -> tuple[dict[str, Any], list[DemoCase], list[PermitCase]]:
    b = _Builder()
    cases: list[DemoCase] = []
    permits: list[PermitCase] = []
    # Filed about in kinship cases before their rows are built (ids are deterministic).
    shen = make_id("310101", "19650815", 31, gender="M")
    hao = make_id("310101", "19930610", 57, gender="M")
    yue = make_id("310101", "20010918", 60, gender="F", want_x=True)
    xu = make_id("310104", "19320707", 26, gender="F")

    def case(
        id_number: str,
        name: str,
        purpose: str,
        address: str | None,
        rp: str,
        ncr: str,
        hr: str,
        file_as: str | None = None,
        *,
        rr: str | None = None,
        kin: str | None = None,
        relative: str | None = None,
    ) -> None:
        """Unless given: residence registration follows the residence permit; a kinship certificate is
        NOT_LOCAL_HUKOU where the household-registration certificate is, asked about 沈国强; a temporary
        identity certificate is issued to anyone the registry knows as active under that name."""
        identity_fails = ncr in _IDENTITY_FAILS
        cases.append(
            DemoCase(
                id_number,
                name,
                purpose,
                address,
                rp,
                ncr,
                hr,
                residence_registration=rr or _registration_follows(rp),
                kinship=kin or (hr if hr == NOT_LOCAL or identity_fails else ISSUED),
                temporary_identity=ncr if identity_fails else ISSUED,
                relative=relative or shen,
                file_as=file_as,
            )
        )

    # --- happy paths first -------------------------------------------------------------------
    a = "上海市长宁区虹桥路1号5号楼301室"
    zhang = b.person("张伟", "330106", "19880312", 15, "M", hukou_address="浙江省杭州市西湖区文三路88号")
    b.registered(zhang, a, "today-3y")
    b.owns("沪(2019)长宁区不动产权第012345号", a, zhang)
    # Where the demo command moves him after renewing his permit (a change of address needs no 6 months).
    b.registered(zhang, ZHANG_WEI_NEW_ADDRESS, "today-20d")
    b.leases_("沪租备(2026)长宁第004321号", ZHANG_WEI_NEW_ADDRESS, "today-20d", "today+2y", zhang)
    case(
        zhang,
        "张伟",
        "happy path: residence permit via an owned flat; clean record; also registered and leasing at "
        f"{ZHANG_WEI_NEW_ADDRESS} for 20 days (the demo's change of address)",
        a,
        ISSUED,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市徐汇区漕溪北路88号12楼1203室"
    li = b.person("李娜", "340104", "19920520", 24, "F", hukou_address="安徽省合肥市蜀山区长江西路200号")
    b.registered(li, a, "today-300d")
    b.leases_("沪租备(2025)徐汇第000123号", a, "today-300d", "today+65d", li)
    case(li, "李娜", "happy path: residence permit via a lease valid today", a, ISSUED, ISSUED, NOT_LOCAL)

    shen_home = "上海市黄浦区南京东路100弄3号"
    assert shen == b.person("沈国强", "310101", "19650815", 31, "M", hukou_address=shen_home)
    case(
        shen,
        "沈国强",
        "happy path: household-registration certificate; head of household (本人); kinship: his son 沈浩",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
        relative=hao,
    )

    # --- Shanghai households -----------------------------------------------------------------
    gu = b.person("顾美玲", "310101", "19670302", 42, "F", hukou_address=shen_home, head=shen, relation="配偶")
    case(
        gu,
        "顾美玲",
        "Shanghai hukou, spouse (配偶) of 沈国强; kinship: 沈悦 (neither is the head)",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
        relative=yue,
    )
    assert hao == b.person("沈浩", "310101", "19930610", 57, "M", hukou_address=shen_home, head=shen, relation="子")
    case(
        hao,
        "沈浩",
        "Shanghai hukou, son (子) of 沈国强; kinship: his father, the head",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
        relative=shen,
    )
    assert yue == b.person(
        "沈悦", "310101", "20010918", 60, "F", hukou_address=shen_home, head=shen, relation="女", want_x=True
    )
    case(
        yue,
        "沈悦",
        "Shanghai hukou, daughter (女) of 沈国强; id number ends in X; kinship: her father, the head",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
    )

    lu_home = "上海市徐汇区天平路20弄5号"
    lu = b.person("陆建华", "310104", "19580101", 13, "M", hukou_address=lu_home)
    case(
        lu,
        "陆建华",
        "Shanghai hukou, head of household (本人); kinship: his mother 徐秀英",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
        relative=xu,
    )
    assert xu == b.person("徐秀英", "310104", "19320707", 26, "F", hukou_address=lu_home, head=lu, relation="母")
    lu_dm = b.person(
        "陆德明", "310104", "19300303", 17, "M", hukou_address=lu_home, head=lu, relation="父", status="deceased"
    )
    case(
        xu,
        "徐秀英",
        "Shanghai hukou, mother (母) of 陆建华; kinship: her late husband 陆德明",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
        relative=lu_dm,
    )
    case(
        lu_dm,
        "陆德明",
        "deceased father (父) of 陆建华: still in the register, so a relative of record",
        None,
        MISMATCH,
        MISMATCH,
        MISMATCH,
    )

    wu = b.person("吴建国", "310107", "19751120", 33, "M", hukou_address="上海市普陀区曹杨路500弄12号")
    b.convicted(wu, "(2016)沪0107刑初1234号", "盗窃罪", "2016-09-12")
    case(
        wu,
        "吴建国",
        "Shanghai hukou with a criminal record; kinship: 沈国强, another household",
        None,
        LOCAL,
        CRIMINAL,
        ISSUED,
        kin=NOT_SAME_HOUSEHOLD,
    )

    huang = b.person(
        "黄丽", "340104", "19900214", 48, "F", province="31", hukou_address="上海市闵行区莘庄镇莘松路380号"
    )
    case(
        huang,
        "黄丽",
        "born in Anhui (id starts 34) but hukou moved to Shanghai: hukou decides, not the id; kinship: an "
        "id number the registry does not know",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
        kin=RELATIVE_NOT_FOUND,
        relative=NOT_IN_DATASET,
    )

    wang_xm = b.person("王小明", "310105", "19850909", 71, "M", hukou_address="上海市长宁区愚园路1200弄8号")
    case(
        wang_xm,
        "王小明",
        "name mismatch: file as 王晓明 (as 王小明: household-registration issued)",
        None,
        MISMATCH,
        MISMATCH,
        MISMATCH,
        file_as="王晓明",
    )

    # --- residence permit: every decision ------------------------------------------------------
    a = "上海市浦东新区世纪大道5号1号楼301室"
    zhao = b.person("赵敏", "430104", "19940405", 82, "F", hukou_address="湖南省长沙市岳麓区麓山南路2号")
    b.registered(zhao, "上海 浦东新区 世纪大道５号１号楼３０１室", "today-2y")
    b.leases_("沪租备(2024)浦东第004567号", "浦东新区世纪大道五号一号楼三〇一室", "today-1y", "today+1y", zhao)
    case(
        zhao,
        "赵敏",
        "address written differently in each record (full-width digits, spaces, 上海 prefix; "
        "Chinese numerals 五/一/三〇一, no prefix): must still match",
        a,
        ISSUED,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市静安区延安中路1000号2号楼1502室"
    wang_f = b.person("王芳", "320102", "19910711", 64, "F", hukou_address="江苏省南京市玄武区中山路18号")
    b.registered(wang_f, a, "today-1y")
    b.leases_("沪租备(2024)静安第002222号", a, "today-375d", "today-10d", wang_f)
    case(wang_f, "王芳", "lease expired 10 days ago, no property", a, NO_HOUSING, ISSUED, NOT_LOCAL)

    a = "上海市杨浦区国定路335号8号楼602室"
    liu = b.person("刘洋", "420106", "19890103", 95, "M", hukou_address="湖北省武汉市武昌区中北路9号")
    b.registered(liu, "上海市虹口区四川北路1500号3号楼201室", "today-3y")
    b.registered(liu, a, "today-60d")
    b.leases_("沪租备(2025)杨浦第003131号", a, "today-60d", "today+305d", liu)
    case(
        liu,
        "刘洋",
        "moved 60 days ago: registered at the new address under 6 months (an older "
        "registration elsewhere does not count)",
        a,
        UNDER_6,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市普陀区真北路1200号6号楼1101室"
    chen = b.person("陈静", "510107", "19960808", 44, "F", hukou_address="四川省成都市武侯区人民南路四段1号")
    b.leases_("沪租备(2025)普陀第001001号", a, "today-200d", "today+165d", chen)
    case(
        chen,
        "陈静",
        "valid lease, but never registered residence with the police",
        a,
        NO_REG,
        ISSUED,
        NOT_LOCAL,
    )

    yang = b.person("杨磊", "410105", "19870630", 17, "M", hukou_address="河南省郑州市金水区花园路66号")
    case(
        yang,
        "杨磊",
        "no registration and no housing record anywhere",
        "上海市宝山区友谊路100号1号楼101室",
        NO_REG_NO_HOUSING,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市长宁区仙霞路300号4号楼302室"
    sun = b.person("孙丽", "350203", "19930303", 22, "F", hukou_address="福建省厦门市思明区湖滨南路50号")
    b.registered(sun, a, "today-2y")
    b.leases_("沪租备(2024)长宁第000777号", a, "today-2y", "today+1y", sun)
    case(
        sun,
        "孙丽",
        "registered and leasing 302室, files for 301室: a different flat must not match",
        "上海市长宁区仙霞路300号4号楼301室",
        NO_REG_NO_HOUSING,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市徐汇区宜山路700号3号楼801室"
    shandong = "山东省济南市历下区泉城路10号"
    zhou = b.person("周杰", "370102", "19860418", 35, "M", hukou_address=shandong)
    wu_t = b.person("吴婷", "370102", "19880922", 46, "F", hukou_address=shandong, head=zhou, relation="配偶")
    b.registered(zhou, a, "today-2y")
    b.registered(wu_t, a, "today-2y")
    b.leases_("沪租备(2024)徐汇第000888号", a, "today-2y", "today+1y", zhou, wu_t)
    case(zhou, "周杰", "first of two tenants on one lease", a, ISSUED, ISSUED, NOT_LOCAL)
    case(
        wu_t,
        "吴婷",
        "second tenant on 周杰's lease; spouse (配偶) in a non-Shanghai household",
        a,
        ISSUED,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市浦东新区锦绣路1500弄20号1202室"
    ma = b.person("马超", "610113", "19840101", 51, "M", hukou_address="陕西省西安市雁塔区小寨东路3号", ethnicity="回")
    lin = b.person("林小红", "310115", "19860214", 62, "F", hukou_address=a)
    b.registered(ma, a, "today-4y")
    b.owns("沪(2020)浦字不动产权第054321号", a, lin, ma)
    case(
        ma,
        "马超",
        "second co-owner of a flat with his Shanghai-hukou wife 林小红",
        a,
        ISSUED,
        ISSUED,
        NOT_LOCAL,
    )
    case(
        lin,
        "林小红",
        "Shanghai hukou, first co-owner of the flat 马超 files with; kinship: 马超, her husband in another "
        "(non-Shanghai) household",
        None,
        LOCAL,
        ISSUED,
        ISSUED,
        kin=NOT_SAME_HOUSEHOLD,
        relative=ma,
    )

    zhou_m = b.person(
        "周敏", "310110", "19900612", 86, "F", province="32", hukou_address="江苏省苏州市姑苏区人民路1000号"
    )
    a = "上海市杨浦区控江路1200号9号楼402室"
    b.registered(zhou_m, a, "today-18m")
    b.owns("沪(2021)杨字不动产权第007788号", a, zhou_m)
    case(
        zhou_m,
        "周敏",
        "born in Shanghai (id starts 31) but hukou moved to Jiangsu: may get a residence permit",
        a,
        ISSUED,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市闵行区七莘路3000弄15号601室"
    he = b.person("何刚", "500103", "19820707", 77, "M", hukou_address="重庆市渝中区解放碑路8号", ethnicity="土家")
    b.registered(he, a, "today-1y")
    b.leases_("沪租备(2024)闵行第009900号", a, "today-1y", "today+1y", he)
    b.convicted(he, "(2012)渝0103刑初567号", "危险驾驶罪", "2012-11-30")
    case(he, "何刚", "criminal record; housing and registration in order", a, ISSUED, CRIMINAL, NOT_LOCAL)

    a = "上海市静安区共和新路2000号7号楼1001室"
    guo = b.person("郭静", "360102", "19950115", 28, "F", hukou_address="江西省南昌市东湖区八一大道100号")
    b.registered(guo, a, "today-6m")
    b.leases_("沪租备(2025)静安第004444号", a, "today-6m", "today+6m", guo)
    case(
        guo,
        "郭静",
        "boundary: registered exactly 6 calendar months ago (not under 6 months)",
        a,
        ISSUED,
        ISSUED,
        NOT_LOCAL,
    )

    a = "上海市宝山区牡丹江路1500号2号楼203室"
    luo = b.person("罗斌", "130102", "19880808", 39, "M", hukou_address="河北省石家庄市长安区中山东路5号")
    b.registered(luo, a, "today-6m+1d")
    b.leases_("沪租备(2025)宝山第005555号", a, "today-6m+1d", "today+6m", luo)
    case(luo, "罗斌", "boundary: registered 6 calendar months ago less one day", a, UNDER_6, ISSUED, NOT_LOCAL)

    a = "上海市虹口区曲阳路800号5号楼1202室"
    liang = b.person("梁宇", "230103", "19830321", 93, "M", hukou_address="黑龙江省哈尔滨市南岗区西大直街1号")
    b.registered(liang, a, "today-2y")
    b.leases_("沪租备(2023)虹口第001212号", a, "today-2y", "today", liang)
    case(liang, "梁宇", "boundary: lease ends today (still valid today)", a, ISSUED, ISSUED, NOT_LOCAL)

    a = "上海市黄浦区西藏南路500号11楼1105室"
    xie = b.person("谢婷", "110105", "19970228", 68, "F", hukou_address="北京市朝阳区建国路88号", ethnicity="满")
    b.registered(xie, a, "today-1y")
    b.leases_("沪租备(2026)黄浦第000321号", a, "today+14d", "today+1y", xie)
    case(
        xie,
        "谢婷",
        "registered for a year, but her lease only starts in 14 days",
        a,
        NO_HOUSING,
        ISSUED,
        NOT_LOCAL,
    )

    # --- identity -----------------------------------------------------------------------------
    qian = b.person(
        "钱志明",
        "310106",
        "19400404",
        19,
        "M",
        status="deceased",
        hukou_address="上海市静安区陕西北路500弄1号",
    )
    case(qian, "钱志明", "deceased (Shanghai hukou)", None, MISMATCH, MISMATCH, MISMATCH)

    a = "上海市长宁区天山路600弄3号502室"
    feng = b.person(
        "冯强",
        "440106",
        "19810505",
        55,
        "M",
        status="cancelled",
        hukou_address="广东省广州市天河区天河路385号",
    )
    b.registered(feng, a, "today-3y")
    b.leases_("沪租备(2024)长宁第006060号", a, "today-1y", "today+1y", feng)
    case(
        feng,
        "冯强",
        "registration cancelled (emigrated); housing and registration otherwise in order",
        a,
        MISMATCH,
        MISMATCH,
        MISMATCH,
    )

    # --- a residence permit moved: 韩梅 holds one at her old flat and has moved ------------------------
    old = "上海市闵行区莘庄镇沁春路100弄5号302室"
    moved = "上海市徐汇区田林路200号3号楼1101室"
    unhoused = "上海市黄浦区复兴中路300号4楼401室"
    unregistered = "上海市普陀区武宁路500弄2号601室"
    han = b.person("韩梅", "210102", "19910909", 44, "F", hukou_address="辽宁省沈阳市和平区中华路66号")
    b.registered(han, old, "today-2y")
    b.leases_("沪租备(2024)闵行第012012号", old, "today-2y", "today+10d", han)
    b.registered(han, moved, "today-45d")
    b.leases_("沪租备(2026)徐汇第003456号", moved, "today-45d", "today+2y", han)
    b.registered(han, unhoused, "today-20d")
    b.leases_("沪租备(2026)普陀第000606号", unregistered, "today-30d", "today+1y", han)
    case(
        han,
        "韩梅",
        "holds a residence permit at her old flat (lease ends in 10 days) and moved 45 days ago: see the "
        "permit table for her changes of address",
        old,
        ISSUED,
        ISSUED,
        NOT_LOCAL,
    )

    # --- renewals and changes of address (the permit table) ---------------------------------------
    zhang_a = "上海市长宁区虹桥路1号5号楼301室"
    renewal, change = "residence-permit-renewal", "residence-permit-address-change"

    def permit(state: str, expected: str, purpose: str, **kw: Any) -> None:
        permits.append(PermitCase(renewal, zhang, "张伟", zhang_a, state, expected, purpose, **kw))

    permit("valid", ISSUED, "renews a valid permit: the new one runs 1 year from the old expiry")
    permit("expired-30d", ISSUED, "boundary: expired 30 days ago, still renewable")
    permit("expired-31d", NO_PERMIT, "boundary: expired 31 days ago, too late to renew")
    permit("revoked", NO_PERMIT, "the permit was revoked")
    permit("superseded", STILL_VALID, "the permit was already renewed: the renewed one is valid, renew that")
    permit("unknown-serial", NO_PERMIT, "a serial no certificate has")
    permit("not-a-permit", NO_PERMIT, "the serial of his no-criminal-record certificate")
    permit(
        "valid",
        NO_PERMIT,
        "李娜 files with 张伟's serial: not hers (and nothing says it exists)",
        filer=li,
        filer_name="李娜",
    )
    permit("valid", MISMATCH, "files under another name (张卫)", file_as="张卫")
    permits.append(
        PermitCase(
            renewal,
            wang_f,
            "王芳",
            "上海市静安区延安中路1000号2号楼1502室",
            "valid",
            NO_HOUSING,
            "her permit was approved by a clerk; still no valid lease at its address",
        )
    )
    permits.append(
        PermitCase(
            renewal,
            chen,
            "陈静",
            "上海市普陀区真北路1200号6号楼1101室",
            "valid",
            NO_REG,
            "her permit was approved by a clerk; still not registered at its address",
        )
    )

    def moving(state: str, expected: str, purpose: str, new_address: str = moved, **kw: Any) -> None:
        permits.append(PermitCase(change, han, "韩梅", old, state, expected, purpose, new_address=new_address, **kw))

    moving("valid", ISSUED, "registered and leasing at the new flat for 45 days: the 6 months do not apply")
    moving("valid", NO_HOUSING, "registered at the new address, but no housing record there", unhoused)
    moving("valid", NO_REG, "leasing at the new address, but not registered there", unregistered)
    moving("expired-1d", NO_PERMIT, "the permit expired yesterday: a change needs a valid permit")
    moving("valid", NO_PERMIT, "张伟 files with 韩梅's serial", filer=zhang, filer_name="张伟")
    moving("valid", MISMATCH, "files under another name (韩玫)", file_as="韩玫")

    case(
        NOT_IN_DATASET,
        "(any)",
        "valid id number that no agency knows",
        "上海市长宁区虹桥路1号5号楼301室",
        NOT_FOUND,
        NOT_FOUND,
        NOT_FOUND,
    )
    return b.dataset(), cases, permits


DATASET, CASES, PERMIT_CASES = _build()


def build() -> dict[str, Any]:
    """The demo dataset, exactly as `demo.json` holds it."""
    copy: dict[str, Any] = json.loads(json.dumps(DATASET))
    return copy


def render_json() -> str:
    return json.dumps(DATASET, ensure_ascii=False, indent=1) + "\n"


def render_table() -> str:
    header = (
        "| id number | name | what for | address to file with (residence permit, residence registration) "
        "| residence-permit | no-criminal-record | household-registration | residence-registration "
        "| kinship (relative) | temporary-identity |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    names = {c.id_number: c.name for c in CASES}
    rows = []
    for c in CASES:
        name = f"{c.name} (file as {c.file_as})" if c.file_as else c.name
        relative = names.get(c.relative or "", "unknown") if c.relative else "—"
        rows.append(
            f"| `{c.id_number}` | {name} | {c.purpose} | {c.address or '—'} | {c.residence_permit} "
            f"| {c.no_criminal_record} | {c.household_registration} | {c.residence_registration} "
            f"| {c.kinship} ({relative}) | {c.temporary_identity} |"
        )
    return header + "\n".join(rows) + "\n"


def render_permit_table() -> str:
    header = (
        "| service | holder | permit at | what became of it | filed by | new address | decision | why |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for p in PERMIT_CASES:
        filer = p.filer_name or p.holder_name
        if p.file_as:
            filer = f"{filer} as {p.file_as}"
        rows.append(
            f"| {p.service} | {p.holder_name} | {p.permit_address} | {p.state} | {filer} "
            f"| {p.new_address or '—'} | {p.expected} | {p.purpose} |"
        )
    return header + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Rewrite demo.json; print the README table.")
    parser.add_argument("--out", type=Path, default=DEMO_PATH)
    args = parser.parse_args()
    args.out.write_text(render_json(), encoding="utf-8")
    print(render_table())
    print(render_permit_table(), end="")


if __name__ == "__main__":
    main()
