"""The demo's people, one row each: who they are, what the agencies hold about them, and what each
certificate decides for them. `demo.py` builds the dataset and the cases from this table.

A row's records: `registered` (address, since), `leases` and `owns` (the row's person is the only tenant
or owner unless the row names them), `convicted` (case, offence, judgment date). A row's `decides` is
the residence permit, no-criminal-record and household-registration decisions; residence registration,
kinship and temporary identity follow from them unless the row says otherwise (`demo._case`).
"""

from __future__ import annotations

from dataclasses import dataclass

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
LOCAL_CASE = (LOCAL, ISSUED, ISSUED)  # a Shanghai hukou with a clean record
RESIDENT = (ISSUED, ISSUED, NOT_LOCAL)  # a non-Shanghai hukou who gets a residence permit
NO_SUCH_PERSON = (MISMATCH, MISMATCH, MISMATCH)  # not (or no longer) an active person under that name

NOBODY = "(not in the dataset)"  # as a relative: demo.NOT_IN_DATASET, a valid id number no agency knows
ZHANG_WEI_NEW_ADDRESS = "上海市长宁区古北路1000弄8号1203室"
SHEN_HOME = "上海市黄浦区南京东路100弄3号"
LU_HOME = "上海市徐汇区天平路20弄5号"
SHANDONG = "山东省济南市历下区泉城路10号"
# 韩梅's flats: where her permit is, where she moved, and two half-documented addresses.
HAN_OLD = "上海市闵行区莘庄镇沁春路100弄5号302室"
HAN_MOVED = "上海市徐汇区田林路200号3号楼1101室"
HAN_UNHOUSED = "上海市黄浦区复兴中路300号4楼401室"
HAN_UNREGISTERED = "上海市普陀区武宁路500弄2号601室"


@dataclass(frozen=True)
class Lease:
    registration: str
    address: str
    start: str
    end: str
    tenants: tuple[str, ...] = ()  # names; the row's person alone when empty


@dataclass(frozen=True)
class Row:
    name: str  # as the registry has it; also how other rows refer to this person
    region: str
    birth: str
    seq: int
    gender: str
    hukou: str  # the hukou address
    purpose: str
    decides: tuple[str, str, str]  # residence permit, no-criminal-record, household registration
    address: str | None = None  # the address to file a residence permit with, as the person would type it
    province: str | None = None  # the hukou's province, when it is not the id's
    head: str | None = None  # the household head's name, when not the row's person
    relation: str = "本人"
    status: str = "active"
    ethnicity: str = "汉"
    want_x: bool = False
    registered: tuple[tuple[str, str], ...] = ()
    leases: tuple[Lease, ...] = ()
    owns: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # certificate, address, owners (names; () = the row's)
    convicted: tuple[tuple[str, str, str], ...] = ()
    residence_registration: str | None = None
    kinship: str | None = None
    relative: str | None = None  # a name in the table, or an id number; 沈国强 unless given
    file_as: str | None = None  # a name to file with instead of `name`, for the mismatch case


@dataclass(frozen=True)
class PermitRow:
    """A row of the permit table: the holder's permit (at the holder's row `address`), what became of it,
    and who files (a name in the table; the holder unless given)."""

    service: str
    holder: str
    state: str  # valid | expired-<N>d | revoked | superseded | unknown-serial | not-a-permit
    expected: str
    purpose: str
    new_address: str | None = None
    filer: str | None = None
    file_as: str | None = None


_ZHANG = "上海市长宁区虹桥路1号5号楼301室"
_LI = "上海市徐汇区漕溪北路88号12楼1203室"
_ZHAO = "上海市浦东新区世纪大道5号1号楼301室"
_WANG_F = "上海市静安区延安中路1000号2号楼1502室"
_LIU = "上海市杨浦区国定路335号8号楼602室"
_CHEN = "上海市普陀区真北路1200号6号楼1101室"
_SUN = "上海市长宁区仙霞路300号4号楼302室"
_ZHOU = "上海市徐汇区宜山路700号3号楼801室"
_MA = "上海市浦东新区锦绣路1500弄20号1202室"
_ZHOU_M = "上海市杨浦区控江路1200号9号楼402室"
_HE = "上海市闵行区七莘路3000弄15号601室"
_GUO = "上海市静安区共和新路2000号7号楼1001室"
_LUO = "上海市宝山区牡丹江路1500号2号楼203室"
_LIANG = "上海市虹口区曲阳路800号5号楼1202室"
_XIE = "上海市黄浦区西藏南路500号11楼1105室"
_FENG = "上海市长宁区天山路600弄3号502室"

# fmt: off
ROWS: tuple[Row, ...] = (
    # --- happy paths first ---------------------------------------------------------------------
    Row("张伟", "330106", "19880312", 15, "M", "浙江省杭州市西湖区文三路88号",
        "happy path: residence permit via an owned flat; clean record; also registered and leasing at "
        f"{ZHANG_WEI_NEW_ADDRESS} for 20 days (the demo's change of address)", RESIDENT, _ZHANG,
        # Where the demo command moves him after renewing his permit (a change of address needs no 6 months).
        registered=((_ZHANG, "today-3y"), (ZHANG_WEI_NEW_ADDRESS, "today-20d")),
        owns=(("沪(2019)长宁区不动产权第012345号", _ZHANG, ()),),
        leases=(Lease("沪租备(2026)长宁第004321号", ZHANG_WEI_NEW_ADDRESS, "today-20d", "today+2y"),)),
    Row("李娜", "340104", "19920520", 24, "F", "安徽省合肥市蜀山区长江西路200号",
        "happy path: residence permit via a lease valid today", RESIDENT, _LI,
        registered=((_LI, "today-300d"),), leases=(Lease("沪租备(2025)徐汇第000123号", _LI, "today-300d", "today+65d"),)),
    Row("沈国强", "310101", "19650815", 31, "M", SHEN_HOME,
        "happy path: household-registration certificate; head of household (本人); kinship: his son 沈浩",
        LOCAL_CASE, relative="沈浩"),
    # --- Shanghai households -------------------------------------------------------------------
    Row("顾美玲", "310101", "19670302", 42, "F", SHEN_HOME,
        "Shanghai hukou, spouse (配偶) of 沈国强; kinship: 沈悦 (neither is the head)", LOCAL_CASE,
        head="沈国强", relation="配偶", relative="沈悦"),
    Row("沈浩", "310101", "19930610", 57, "M", SHEN_HOME, "Shanghai hukou, son (子) of 沈国强; kinship: his father, the head",
        LOCAL_CASE, head="沈国强", relation="子"),
    Row("沈悦", "310101", "20010918", 60, "F", SHEN_HOME,
        "Shanghai hukou, daughter (女) of 沈国强; id number ends in X; kinship: her father, the head", LOCAL_CASE,
        head="沈国强", relation="女", want_x=True),
    Row("陆建华", "310104", "19580101", 13, "M", LU_HOME, "Shanghai hukou, head of household (本人); kinship: his mother 徐秀英",
        LOCAL_CASE, relative="徐秀英"),
    Row("徐秀英", "310104", "19320707", 26, "F", LU_HOME, "Shanghai hukou, mother (母) of 陆建华; kinship: her late husband 陆德明",
        LOCAL_CASE, head="陆建华", relation="母", relative="陆德明"),
    Row("陆德明", "310104", "19300303", 17, "M", LU_HOME,
        "deceased father (父) of 陆建华: still in the register, so a relative of record", NO_SUCH_PERSON,
        head="陆建华", relation="父", status="deceased"),
    Row("吴建国", "310107", "19751120", 33, "M", "上海市普陀区曹杨路500弄12号",
        "Shanghai hukou with a criminal record; kinship: 沈国强, another household", (LOCAL, CRIMINAL, ISSUED),
        convicted=(("(2016)沪0107刑初1234号", "盗窃罪", "2016-09-12"),), kinship=NOT_SAME_HOUSEHOLD),
    Row("黄丽", "340104", "19900214", 48, "F", "上海市闵行区莘庄镇莘松路380号",
        "born in Anhui (id starts 34) but hukou moved to Shanghai: hukou decides, not the id; kinship: an "
        "id number the registry does not know", LOCAL_CASE, province="31", kinship=RELATIVE_NOT_FOUND,
        relative=NOBODY),
    Row("王小明", "310105", "19850909", 71, "M", "上海市长宁区愚园路1200弄8号",
        "name mismatch: file as 王晓明 (as 王小明: household-registration issued)", NO_SUCH_PERSON, file_as="王晓明"),
    # --- residence permit: every decision ------------------------------------------------------
    Row("赵敏", "430104", "19940405", 82, "F", "湖南省长沙市岳麓区麓山南路2号",
        "address written differently in each record (full-width digits, spaces, 上海 prefix; "
        "Chinese numerals 五/一/三〇一, no prefix): must still match", RESIDENT, _ZHAO,
        registered=(("上海 浦东新区 世纪大道５号１号楼３０１室", "today-2y"),),
        leases=(Lease("沪租备(2024)浦东第004567号", "浦东新区世纪大道五号一号楼三〇一室", "today-1y", "today+1y"),)),
    Row("王芳", "320102", "19910711", 64, "F", "江苏省南京市玄武区中山路18号", "lease expired 10 days ago, no property",
        (NO_HOUSING, ISSUED, NOT_LOCAL), _WANG_F, registered=((_WANG_F, "today-1y"),),
        leases=(Lease("沪租备(2024)静安第002222号", _WANG_F, "today-375d", "today-10d"),)),
    Row("刘洋", "420106", "19890103", 95, "M", "湖北省武汉市武昌区中北路9号",
        "moved 60 days ago: registered at the new address under 6 months (an older "
        "registration elsewhere does not count)", (UNDER_6, ISSUED, NOT_LOCAL), _LIU,
        registered=(("上海市虹口区四川北路1500号3号楼201室", "today-3y"), (_LIU, "today-60d")),
        leases=(Lease("沪租备(2025)杨浦第003131号", _LIU, "today-60d", "today+305d"),)),
    Row("陈静", "510107", "19960808", 44, "F", "四川省成都市武侯区人民南路四段1号",
        "valid lease, but never registered residence with the police", (NO_REG, ISSUED, NOT_LOCAL), _CHEN,
        leases=(Lease("沪租备(2025)普陀第001001号", _CHEN, "today-200d", "today+165d"),)),
    Row("杨磊", "410105", "19870630", 17, "M", "河南省郑州市金水区花园路66号", "no registration and no housing record anywhere",
        (NO_REG_NO_HOUSING, ISSUED, NOT_LOCAL), "上海市宝山区友谊路100号1号楼101室"),
    Row("孙丽", "350203", "19930303", 22, "F", "福建省厦门市思明区湖滨南路50号",
        "registered and leasing 302室, files for 301室: a different flat must not match",
        (NO_REG_NO_HOUSING, ISSUED, NOT_LOCAL), "上海市长宁区仙霞路300号4号楼301室",
        registered=((_SUN, "today-2y"),), leases=(Lease("沪租备(2024)长宁第000777号", _SUN, "today-2y", "today+1y"),)),
    Row("周杰", "370102", "19860418", 35, "M", SHANDONG, "first of two tenants on one lease", RESIDENT, _ZHOU,
        registered=((_ZHOU, "today-2y"),)),
    Row("吴婷", "370102", "19880922", 46, "F", SHANDONG,
        "second tenant on 周杰's lease; spouse (配偶) in a non-Shanghai household", RESIDENT, _ZHOU,
        head="周杰", relation="配偶", registered=((_ZHOU, "today-2y"),),
        leases=(Lease("沪租备(2024)徐汇第000888号", _ZHOU, "today-2y", "today+1y", ("周杰", "吴婷")),)),
    Row("马超", "610113", "19840101", 51, "M", "陕西省西安市雁塔区小寨东路3号",
        "second co-owner of a flat with his Shanghai-hukou wife 林小红", RESIDENT, _MA, ethnicity="回",
        registered=((_MA, "today-4y"),)),
    Row("林小红", "310115", "19860214", 62, "F", _MA,
        "Shanghai hukou, first co-owner of the flat 马超 files with; kinship: 马超, her husband in another "
        "(non-Shanghai) household", LOCAL_CASE, owns=(("沪(2020)浦字不动产权第054321号", _MA, ("林小红", "马超")),),
        kinship=NOT_SAME_HOUSEHOLD, relative="马超"),
    Row("周敏", "310110", "19900612", 86, "F", "江苏省苏州市姑苏区人民路1000号",
        "born in Shanghai (id starts 31) but hukou moved to Jiangsu: may get a residence permit", RESIDENT, _ZHOU_M,
        province="32", registered=((_ZHOU_M, "today-18m"),), owns=(("沪(2021)杨字不动产权第007788号", _ZHOU_M, ()),)),
    Row("何刚", "500103", "19820707", 77, "M", "重庆市渝中区解放碑路8号", "criminal record; housing and registration in order",
        (ISSUED, CRIMINAL, NOT_LOCAL), _HE, ethnicity="土家", registered=((_HE, "today-1y"),),
        leases=(Lease("沪租备(2024)闵行第009900号", _HE, "today-1y", "today+1y"),),
        convicted=(("(2012)渝0103刑初567号", "危险驾驶罪", "2012-11-30"),)),
    Row("郭静", "360102", "19950115", 28, "F", "江西省南昌市东湖区八一大道100号",
        "boundary: registered exactly 6 calendar months ago (not under 6 months)", RESIDENT, _GUO,
        registered=((_GUO, "today-6m"),), leases=(Lease("沪租备(2025)静安第004444号", _GUO, "today-6m", "today+6m"),)),
    Row("罗斌", "130102", "19880808", 39, "M", "河北省石家庄市长安区中山东路5号",
        "boundary: registered 6 calendar months ago less one day", (UNDER_6, ISSUED, NOT_LOCAL), _LUO,
        registered=((_LUO, "today-6m+1d"),),
        leases=(Lease("沪租备(2025)宝山第005555号", _LUO, "today-6m+1d", "today+6m"),)),
    Row("梁宇", "230103", "19830321", 93, "M", "黑龙江省哈尔滨市南岗区西大直街1号",
        "boundary: lease ends today (still valid today)", RESIDENT, _LIANG, registered=((_LIANG, "today-2y"),),
        leases=(Lease("沪租备(2023)虹口第001212号", _LIANG, "today-2y", "today"),)),
    Row("谢婷", "110105", "19970228", 68, "F", "北京市朝阳区建国路88号",
        "registered for a year, but her lease only starts in 14 days", (NO_HOUSING, ISSUED, NOT_LOCAL), _XIE,
        ethnicity="满", registered=((_XIE, "today-1y"),),
        leases=(Lease("沪租备(2026)黄浦第000321号", _XIE, "today+14d", "today+1y"),)),
    # --- identity ------------------------------------------------------------------------------
    Row("钱志明", "310106", "19400404", 19, "M", "上海市静安区陕西北路500弄1号", "deceased (Shanghai hukou)",
        NO_SUCH_PERSON, status="deceased"),
    Row("冯强", "440106", "19810505", 55, "M", "广东省广州市天河区天河路385号",
        "registration cancelled (emigrated); housing and registration otherwise in order", NO_SUCH_PERSON, _FENG,
        status="cancelled", registered=((_FENG, "today-3y"),),
        leases=(Lease("沪租备(2024)长宁第006060号", _FENG, "today-1y", "today+1y"),)),
    # --- a residence permit moved: 韩梅 holds one at her old flat and has moved -------------------
    Row("韩梅", "210102", "19910909", 44, "F", "辽宁省沈阳市和平区中华路66号",
        "holds a residence permit at her old flat (lease ends in 10 days) and moved 45 days ago: see the "
        "permit table for her changes of address", RESIDENT, HAN_OLD,
        registered=((HAN_OLD, "today-2y"), (HAN_MOVED, "today-45d"), (HAN_UNHOUSED, "today-20d")),
        leases=(Lease("沪租备(2024)闵行第012012号", HAN_OLD, "today-2y", "today+10d"),
                Lease("沪租备(2026)徐汇第003456号", HAN_MOVED, "today-45d", "today+2y"),
                Lease("沪租备(2026)普陀第000606号", HAN_UNREGISTERED, "today-30d", "today+1y"))),
)

RENEWAL, CHANGE = "residence-permit-renewal", "residence-permit-address-change"

PERMIT_ROWS: tuple[PermitRow, ...] = (
    PermitRow(RENEWAL, "张伟", "valid", ISSUED, "renews a valid permit: the new one runs 1 year from the old expiry"),
    PermitRow(RENEWAL, "张伟", "expired-30d", ISSUED, "boundary: expired 30 days ago, still renewable"),
    PermitRow(RENEWAL, "张伟", "expired-31d", NO_PERMIT, "boundary: expired 31 days ago, too late to renew"),
    PermitRow(RENEWAL, "张伟", "revoked", NO_PERMIT, "the permit was revoked"),
    PermitRow(RENEWAL, "张伟", "superseded", STILL_VALID,
              "the permit was already renewed: the renewed one is valid, renew that"),
    PermitRow(RENEWAL, "张伟", "unknown-serial", NO_PERMIT, "a serial no certificate has"),
    PermitRow(RENEWAL, "张伟", "not-a-permit", NO_PERMIT, "the serial of his no-criminal-record certificate"),
    PermitRow(RENEWAL, "张伟", "valid", NO_PERMIT, "李娜 files with 张伟's serial: not hers (and nothing says it exists)",
              filer="李娜"),
    PermitRow(RENEWAL, "张伟", "valid", MISMATCH, "files under another name (张卫)", file_as="张卫"),
    PermitRow(RENEWAL, "王芳", "valid", NO_HOUSING,
              "her permit was approved by a clerk; still no valid lease at its address"),
    PermitRow(RENEWAL, "陈静", "valid", NO_REG, "her permit was approved by a clerk; still not registered at its address"),
    PermitRow(CHANGE, "韩梅", "valid", ISSUED,
              "registered and leasing at the new flat for 45 days: the 6 months do not apply", HAN_MOVED),
    PermitRow(CHANGE, "韩梅", "valid", NO_HOUSING, "registered at the new address, but no housing record there",
              HAN_UNHOUSED),
    PermitRow(CHANGE, "韩梅", "valid", NO_REG, "leasing at the new address, but not registered there", HAN_UNREGISTERED),
    PermitRow(CHANGE, "韩梅", "expired-1d", NO_PERMIT, "the permit expired yesterday: a change needs a valid permit",
              HAN_MOVED),
    PermitRow(CHANGE, "韩梅", "valid", NO_PERMIT, "张伟 files with 韩梅's serial", HAN_MOVED, filer="张伟"),
    PermitRow(CHANGE, "韩梅", "valid", MISMATCH, "files under another name (韩玫)", HAN_MOVED, file_as="韩玫"),
)
# fmt: on
