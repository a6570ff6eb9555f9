"""The police stations with comprehensive windows (综合窗口), bundled with the demo dataset.

The city reports 309 police stations whose comprehensive windows handle household registration, public
order, exit-entry and traffic matters, 59 of them in community affairs centres. `stations.json` beside
this file is that registry as the service serves it (STATIONS_FILE names another);
`python -m integrations.datasets.stations` rewrites it from `build()`. Like the synthetic people
(`generate.py`) it is generated from a seed, district by district: each of Shanghai's sixteen districts
gets its share of stations, named after its towns and streets, located around the district's centre.
The stations the demo, the README and the tests name (`310105-HQLB` and three more) are fixed entries.

A station's id is what a clerk's token carries as `station_id`: the district's region code, a hyphen,
and the initials of its name (`310105-HQLB`, 虹桥路派出所 in 长宁区).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

STATIONS_PATH = Path(__file__).with_name("stations.json")
TOTAL, IN_COMMUNITY_CENTRES = 309, 59
SEED = 309

Line = Literal["household", "public_order", "exit_entry", "traffic"]
LINES: tuple[Line, ...] = ("household", "public_order", "exit_entry", "traffic")


class OpeningPeriod(TypedDict):
    weekdays: list[Annotated[int, Field(ge=1, le=7)]]  # ISO: 1 = Monday … 7 = Sunday
    opens: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    closes: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Location(TypedDict):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class StationRecord(TypedDict):
    id: Annotated[str, Field(pattern=r"^\d{6}-[A-Z0-9]{2,12}$")]
    name: str
    district: str
    address: str
    in_community_centre: bool
    lines: list[Line]
    opening_hours: list[OpeningPeriod]
    location: Location


class _StationsFile(TypedDict):
    stations: list[StationRecord]


_ADAPTER = TypeAdapter(_StationsFile)

WEEKDAYS = [1, 2, 3, 4, 5]
# A police station's window: mornings and afternoons on working days, a lunch break between.
OFFICE_HOURS: list[OpeningPeriod] = [
    {"weekdays": WEEKDAYS, "opens": "09:00", "closes": "12:00"},
    {"weekdays": WEEKDAYS, "opens": "13:30", "closes": "17:00"},
]
SATURDAY_MORNING: OpeningPeriod = {"weekdays": [6], "opens": "09:00", "closes": "12:00"}
# A community affairs centre keeps its doors open through lunch, and on Saturdays.
CENTRE_HOURS: list[OpeningPeriod] = [{"weekdays": [*WEEKDAYS, 6], "opens": "09:00", "closes": "17:00"}]

# (region code, district, stations, of them in community affairs centres, centre lat, lon, spread lat, lon)
DISTRICTS: list[tuple[str, str, int, int, float, float, float, float]] = [
    ("310101", "黄浦区", 12, 4, 31.2250, 121.4850, 0.018, 0.015),
    ("310104", "徐汇区", 15, 5, 31.1750, 121.4370, 0.040, 0.025),
    ("310105", "长宁区", 11, 4, 31.2100, 121.3950, 0.020, 0.035),
    ("310106", "静安区", 17, 5, 31.2650, 121.4550, 0.040, 0.020),
    ("310107", "普陀区", 14, 4, 31.2500, 121.4000, 0.025, 0.030),
    ("310109", "虹口区", 11, 3, 31.2750, 121.4900, 0.025, 0.015),
    ("310110", "杨浦区", 16, 5, 31.2850, 121.5250, 0.030, 0.025),
    ("310112", "闵行区", 30, 5, 31.1100, 121.3800, 0.080, 0.070),
    ("310113", "宝山区", 24, 4, 31.3900, 121.4300, 0.070, 0.060),
    ("310114", "嘉定区", 20, 3, 31.3750, 121.2500, 0.070, 0.070),
    ("310115", "浦东新区", 62, 8, 31.1500, 121.6300, 0.150, 0.120),
    ("310116", "金山区", 12, 2, 30.8000, 121.2700, 0.070, 0.100),
    ("310117", "松江区", 20, 3, 31.0300, 121.2300, 0.070, 0.080),
    ("310118", "青浦区", 15, 2, 31.1400, 121.1000, 0.080, 0.100),
    ("310120", "奉贤区", 14, 1, 30.9200, 121.5000, 0.060, 0.110),
    ("310151", "崇明区", 16, 1, 31.6300, 121.5500, 0.060, 0.250),
]

# Towns, streets and neighbourhoods of each district, with the initials of their names.
PLACES: dict[str, list[tuple[str, str]]] = {
    "310101": [
        ("外滩", "WT"), ("瑞金二路", "RJEL"), ("打浦桥", "DPQ"), ("淮海中路", "HHZL"), ("豫园", "YY"),
        ("老西门", "LXM"), ("小东门", "XDM"), ("半淞园路", "BSYL"), ("五里桥", "WLQ"), ("人民广场", "RMGC"),
        ("董家渡", "DJD"),
    ],
    "310104": [
        ("天平路", "TPL"), ("湖南路", "HNL"), ("斜土路", "XTL"), ("枫林路", "FLL"), ("长桥", "CQ"), ("田林", "TL"),
        ("虹梅路", "HML"), ("康健", "KJ"), ("漕河泾", "CHJ"), ("凌云", "LY"), ("龙华", "LH"), ("华泾", "HJ"),
        ("徐汇滨江", "XHBJ"), ("上海南站", "SHNZ"),
    ],
    "310105": [
        ("华阳路", "HYL"), ("江苏路", "JSL"), ("新华路", "XHL"), ("周家桥", "ZJQ"), ("天山路", "TSL"),
        ("仙霞路", "XXL"), ("程家桥", "CJQ"), ("北新泾", "BXJ"), ("新泾", "XJ"), ("古北", "GB"),
    ],
    "310106": [
        ("南京西路", "NJXL"), ("江宁路", "JNL"), ("石门二路", "SMEL"), ("曹家渡", "CJD"), ("天目西路", "TMXL"),
        ("北站", "BZ"), ("宝山路", "BSL"), ("芷江西路", "ZJXL"), ("共和新路", "GHXL"), ("大宁路", "DNL"),
        ("彭浦新村", "PPXC"), ("临汾路", "LFL"), ("彭浦", "PP"), ("不夜城", "BYC"), ("闸北公园", "ZBGY"),
        ("延长路", "YCL"),
    ],
    "310107": [
        ("曹杨新村", "CYXC"), ("长风新村", "CFXC"), ("长寿路", "CSL"), ("甘泉路", "GQL"), ("石泉路", "SQL"),
        ("宜川路", "YCL"), ("万里", "WL"), ("真如", "ZR"), ("长征", "CZ"), ("桃浦", "TP"), ("武宁路", "WNL"),
        ("真光", "ZG"), ("中山北路", "ZSBL"), ("白玉路", "BYL"),
    ],
    "310109": [
        ("欧阳路", "OYL"), ("曲阳路", "QYL"), ("广中路", "GZL"), ("嘉兴路", "JXL"), ("凉城新村", "LCXC"),
        ("四川北路", "SCBL"), ("北外滩", "BWT"), ("江湾镇", "JWZ"), ("提篮桥", "TLQ"), ("新港", "XG"),
        ("乍浦路", "ZPL"),
    ],
    "310110": [
        ("定海路", "DHL"), ("平凉路", "PLL"), ("江浦路", "JPL"), ("四平路", "SPL"), ("控江路", "KJL"),
        ("长白新村", "CBXC"), ("延吉新村", "YJXC"), ("殷行", "YX"), ("大桥", "DQ"), ("五角场", "WJC"),
        ("新江湾城", "XJWC"), ("长海路", "CHL"), ("国定路", "GDL"), ("鞍山", "AS"), ("杨浦滨江", "YPBJ"),
        ("民星路", "MXL"),
    ],
    "310112": [
        ("莘庄", "XZ"), ("七宝", "QB"), ("梅陇", "ML"), ("古美", "GM"), ("江川路", "JCL"), ("吴泾", "WJ"),
        ("马桥", "MQ"), ("华漕", "HC"), ("虹桥镇", "HQZ"), ("浦江", "PJ"), ("颛桥", "ZQ"), ("浦锦", "PJJ"),
        ("新虹", "XH"), ("田园", "TY"), ("航华", "HH"), ("春申", "CS"), ("龙柏", "LB"), ("闵行开发区", "MHKFQ"),
        ("九星", "JX"), ("召稼楼", "ZJL"),
    ],
    "310113": [
        ("友谊路", "YYL"), ("吴淞", "WS"), ("张庙", "ZM"), ("罗店", "LD"), ("大场", "DC"), ("杨行", "YH"),
        ("月浦", "YP"), ("罗泾", "LJ"), ("顾村", "GC"), ("高境", "GJ"), ("庙行", "MX"), ("淞南", "SN"),
        ("通河", "TH"), ("淞宝", "SB"), ("共康", "GK"), ("美兰湖", "MLH"),
    ],
    "310114": [
        ("嘉定镇", "JDZ"), ("新成路", "XCL"), ("真新", "ZX"), ("南翔", "NX"), ("安亭", "AT"), ("马陆", "ML"),
        ("徐行", "XX"), ("华亭", "HT"), ("外冈", "WG"), ("江桥", "JQ"), ("菊园", "JY"), ("嘉定新城", "JDXC"),
        ("丰庄", "FZ"), ("黄渡", "HD"),
    ],
    "310115": [
        ("陆家嘴", "LJZ"), ("潍坊", "WF"), ("塘桥", "TQ"), ("洋泾", "YJ"), ("花木", "HM"), ("金杨", "JY"),
        ("浦兴", "PX"), ("东明", "DM"), ("上钢", "SG"), ("南码头", "NMT"), ("周家渡", "ZJD"), ("三林", "SL"),
        ("北蔡", "BC"), ("川沙", "CS"), ("张江", "ZJ"), ("高桥", "GQ"), ("高行", "GH"), ("高东", "GD"),
        ("曹路", "CL"), ("合庆", "HQ"), ("唐镇", "TZ"), ("康桥", "KQ"), ("周浦", "ZP"), ("航头", "HT"),
        ("新场", "XC"), ("祝桥", "ZQ"), ("惠南", "HN"), ("大团", "DT"), ("老港", "LG"), ("书院", "SY"),
        ("万祥", "WX"), ("泥城", "NC"), ("宣桥", "XQ"), ("金桥", "JQ"), ("外高桥", "WGQ"), ("临港", "LG"),
        ("世博", "SB"), ("联洋", "LY"), ("御桥", "YQ"), ("六里", "LL"),
    ],
    "310116": [
        ("石化", "SH"), ("朱泾", "ZJ"), ("枫泾", "FJ"), ("张堰", "ZY"), ("亭林", "TL"), ("吕巷", "LX"),
        ("廊下", "LX"), ("金山卫", "JSW"), ("漕泾", "CJ"), ("山阳", "SY"),
    ],
    "310117": [
        ("岳阳", "YY"), ("永丰", "YF"), ("方松", "FS"), ("中山", "ZS"), ("泗泾", "SJ"), ("佘山", "SS"),
        ("车墩", "CD"), ("新桥", "XQ"), ("洞泾", "DJ"), ("九亭", "JT"), ("泖港", "MG"), ("石湖荡", "SHD"),
        ("新浜", "XB"), ("叶榭", "YX"), ("小昆山", "XKS"), ("广富林", "GFL"),
    ],
    "310118": [
        ("夏阳", "XY"), ("盈浦", "YP"), ("香花桥", "XHQ"), ("朱家角", "ZJJ"), ("练塘", "LT"), ("金泽", "JZ"),
        ("赵巷", "ZX"), ("徐泾", "XJ"), ("华新", "HX"), ("重固", "CG"), ("白鹤", "BH"),
    ],
    "310120": [
        ("南桥", "NQ"), ("奉城", "FC"), ("庄行", "ZH"), ("金汇", "JH"), ("四团", "ST"), ("青村", "QC"),
        ("柘林", "ZL"), ("海湾", "HW"), ("西渡", "XD"), ("奉浦", "FP"),
    ],
    "310151": [
        ("城桥", "CQ"), ("堡镇", "BZ"), ("新河", "XH"), ("庙镇", "MZ"), ("竖新", "SX"), ("向化", "XH"),
        ("三星", "SX"), ("港沿", "GY"), ("中兴", "ZX"), ("陈家镇", "CJZ"), ("绿华", "LH"), ("港西", "GX"),
        ("建设", "JS"), ("新海", "XH"), ("东平", "DP"), ("长兴", "CX"), ("横沙", "HS"),
    ],
}  # fmt: skip

# Named by the demo, the README and the tests; kept exactly so whatever the seed draws.
FIXED: list[StationRecord] = [
    {
        "id": "310105-HQLB",
        "name": "虹桥路派出所",
        "district": "长宁区",
        "address": "上海市长宁区虹桥路1366号",
        "in_community_centre": False,
        "lines": list(LINES),
        "opening_hours": [*OFFICE_HOURS, SATURDAY_MORNING],
        "location": {"lat": 31.200931, "lon": 121.416622},
    },
    {
        "id": "310104-XJH",
        "name": "徐家汇派出所",
        "district": "徐汇区",
        "address": "上海市徐汇区南丹东路80号（徐家汇街道社区事务受理服务中心）",
        "in_community_centre": True,
        "lines": list(LINES),
        "opening_hours": list(CENTRE_HOURS),
        "location": {"lat": 31.193418, "lon": 121.440105},
    },
    {
        "id": "310101-NJDL",
        "name": "南京东路派出所",
        "district": "黄浦区",
        "address": "上海市黄浦区福州路185号",
        "in_community_centre": False,
        "lines": list(LINES),
        "opening_hours": list(OFFICE_HOURS),
        "location": {"lat": 31.236102, "lon": 121.486473},
    },
    {
        "id": "310106-JAS",
        "name": "静安寺派出所",
        "district": "静安区",
        "address": "上海市静安区常德路1030号（静安寺街道社区事务受理服务中心）",
        "in_community_centre": True,
        "lines": list(LINES),
        "opening_hours": list(CENTRE_HOURS),
        "location": {"lat": 31.225307, "lon": 121.445261},
    },
]

_DIRECTIONS = [("东", "D"), ("西", "X"), ("南", "N"), ("北", "B")]


def _names(code: str, needed: int, taken: set[str]) -> list[tuple[str, str]]:
    """`needed` (name, id) pairs for a district: its places first, then the same places with a quarter
    (张江东, 张江西…) once the places run out; ids unique whatever the initials."""
    places = PLACES[code]
    chosen: list[tuple[str, str]] = []
    for quarter in [("", ""), *_DIRECTIONS]:
        for place, initials in places:
            if len(chosen) == needed:
                return chosen
            name = f"{place}{quarter[0]}派出所"
            station_id = f"{code}-{initials}{quarter[1]}"
            suffix = 2
            while station_id in taken:
                station_id = f"{code}-{initials}{quarter[1]}{suffix}"
                suffix += 1
            taken.add(station_id)
            chosen.append((name, station_id))
    raise ValueError(f"not enough place names for {needed} stations in {code}")


def _road(place: str) -> str:
    return place if place.endswith(("路", "道")) else f"{place.removesuffix('派出所')}路"


def _station(
    rng: random.Random, district: tuple[str, str, int, int, float, float, float, float], name: str, station_id: str
) -> StationRecord:
    """One generated station (`_in_centre` moves some of them into a community affairs centre)."""
    _, district_name, _, _, lat, lon, spread_lat, spread_lon = district
    place = name.removesuffix("派出所")
    record: StationRecord = {
        "id": station_id,
        "name": name,
        "district": district_name,
        "address": f"上海市{district_name}{_road(place)}{rng.randint(1, 1999)}号",
        "in_community_centre": False,
        "lines": [
            line
            for line in LINES
            if line in ("household", "public_order")
            or (line == "exit_entry" and rng.random() < 0.55)
            or (line == "traffic" and rng.random() < 0.45)
        ],
        "opening_hours": [*OFFICE_HOURS, SATURDAY_MORNING] if rng.random() < 0.3 else list(OFFICE_HOURS),
        "location": {
            "lat": round(lat + rng.uniform(-spread_lat, spread_lat), 6),
            "lon": round(lon + rng.uniform(-spread_lon, spread_lon), 6),
        },
    }
    return record


def _in_centre(record: StationRecord) -> StationRecord:
    place = record["name"].removesuffix("派出所")
    return {
        **record,
        "address": f"{record['address']}（{place}社区事务受理服务中心）",
        "in_community_centre": True,
        "lines": list(LINES),  # a centre's window handles every line, exit-entry and traffic included
        "opening_hours": list(CENTRE_HOURS),
    }


def build(seed: int = SEED) -> list[StationRecord]:
    """The registry: 309 stations, 59 in community affairs centres, ordered by id."""
    rng = random.Random(seed)
    stations: list[StationRecord] = []
    taken = {s["id"] for s in FIXED}
    for district in DISTRICTS:
        code, _, count, centres, *_ = district
        fixed = [s for s in FIXED if s["id"].startswith(code)]
        generated = [_station(rng, district, name, sid) for name, sid in _names(code, count - len(fixed), taken)]
        still_to_place = centres - sum(s["in_community_centre"] for s in fixed)
        placed = set(rng.sample(range(len(generated)), still_to_place))
        stations += fixed + [_in_centre(s) if i in placed else s for i, s in enumerate(generated)]
    assert len(stations) == TOTAL and sum(s["in_community_centre"] for s in stations) == IN_COMMUNITY_CENTRES
    return sorted(stations, key=lambda s: s["id"])


def render_json() -> str:
    """One station per line: a diff of the registry reads station by station."""
    lines = ",\n".join(json.dumps(s, ensure_ascii=False, separators=(", ", ": ")) for s in build())
    return '{"stations": [\n' + lines + "\n]}\n"


def load_stations(path: Path | str | None = None) -> list[StationRecord]:
    """The registry file (None: the bundled one), checked field by field; raises pydantic.ValidationError."""
    return _ADAPTER.validate_json(Path(path or STATIONS_PATH).read_bytes())["stations"]


def stations_from(raw: dict[str, Any]) -> list[StationRecord]:
    """The same checks for a registry already in memory (tests)."""
    return _ADAPTER.validate_python(raw)["stations"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Rewrite stations.json (the bundled station registry).")
    parser.add_argument("--out", type=Path, default=STATIONS_PATH)
    args = parser.parse_args()
    args.out.write_text(render_json(), encoding="utf-8")
    stations = build()
    centres = sum(s["in_community_centre"] for s in stations)
    print(f"wrote {args.out}: {len(stations)} stations, {centres} in community affairs centres")


if __name__ == "__main__":
    main()
