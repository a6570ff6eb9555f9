"""Synthetic datasets for benchmarks: `python -m integrations.datasets.generate --people N --out FILE`.

Households of 1-4 people share a hukou (province, address, head, relations). About a third are
Shanghai households, who own some flats; the rest are migrant households living in Shanghai, most
of them registered with the police and owning or leasing (some leases expired). A few adults have a
criminal record. Id numbers are checksum-valid and unique; the same seed gives the same file.
The file is written streamingly, section by section, so memory stays flat however many people.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from app.clock import shanghai_today
from app.identity.id_number import check_digit

SECTIONS = ("persons", "residence_registrations", "criminal_records", "properties", "leases")

SHANGHAI = [  # (region code, district)
    ("310101", "黄浦区"),
    ("310104", "徐汇区"),
    ("310105", "长宁区"),
    ("310106", "静安区"),
    ("310107", "普陀区"),
    ("310109", "虹口区"),
    ("310110", "杨浦区"),
    ("310112", "闵行区"),
    ("310113", "宝山区"),
    ("310114", "嘉定区"),
    ("310115", "浦东新区"),
    ("310117", "松江区"),
]
ELSEWHERE = [  # (region code, province + city + district)
    ("330106", "浙江省杭州市西湖区"),
    ("320102", "江苏省南京市玄武区"),
    ("320508", "江苏省苏州市姑苏区"),
    ("340104", "安徽省合肥市蜀山区"),
    ("360102", "江西省南昌市东湖区"),
    ("410105", "河南省郑州市金水区"),
    ("420106", "湖北省武汉市武昌区"),
    ("430104", "湖南省长沙市岳麓区"),
    ("510107", "四川省成都市武侯区"),
    ("370102", "山东省济南市历下区"),
    ("110105", "北京市朝阳区"),
    ("440106", "广东省广州市天河区"),
    ("350203", "福建省厦门市思明区"),
    ("130102", "河北省石家庄市长安区"),
    ("610113", "陕西省西安市雁塔区"),
    ("230103", "黑龙江省哈尔滨市南岗区"),
    ("500103", "重庆市渝中区"),
    ("450103", "广西壮族自治区南宁市青秀区"),
]
ROADS = [
    "虹桥路",
    "延安西路",
    "南京西路",
    "淮海中路",
    "四川北路",
    "曹杨路",
    "国定路",
    "世纪大道",
    "张杨路",
    "漕溪北路",
    "宜山路",
    "中山北路",
    "共和新路",
    "真北路",
    "七莘路",
    "牡丹江路",
    "控江路",
    "长寿路",
    "天山路",
    "仙霞路",
    "锦绣路",
    "浦东南路",
    "龙华中路",
    "武宁路",
    "江场路",
    "沪太路",
]
HOME_ROADS = ["人民路", "中山路", "解放路", "建设路", "文化路", "和平路", "长江路", "黄河路", "新华路"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯健俊帆帅旭宁彬飞鑫波晨阳婷雪琳慧颖倩佳欣怡悦思雨涵梓轩子萱"
ETHNICITIES = ["汉"] * 46 + ["回", "满", "壮", "土家"]
OFFENCES = ["盗窃罪", "危险驾驶罪", "诈骗罪", "故意伤害罪", "寻衅滋事罪", "交通肇事罪"]


@dataclass
class _Counter:
    value: int = 0

    def next(self) -> int:
        self.value += 1
        return self.value


class _Generator:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.used: set[str] = set()
        self.certificates = _Counter()
        self.leases = _Counter()
        self.cases = _Counter()

    def day(self, *, days_ago_min: int, days_ago_max: int) -> date:
        return self.today - timedelta(days=self.rng.randint(days_ago_min, days_ago_max))

    def id_number(self, region: str, birth: date, gender: str) -> str:
        while True:
            seq = self.rng.randrange(0, 1000)
            if (seq % 2 == 1) != (gender == "M"):
                seq = (seq + 1) % 1000
            first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
            candidate = first17 + check_digit(first17)
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate

    def shanghai_address(self, district: str | None = None) -> str:
        rng = self.rng
        district = district or rng.choice(SHANGHAI)[1]
        road = rng.choice(ROADS)
        if rng.random() < 0.5:
            return f"上海市{district}{road}{rng.randint(1, 3000)}弄{rng.randint(1, 60)}号{rng.randint(1, 30)}0{rng.randint(1, 6)}室"
        return f"上海市{district}{road}{rng.randint(1, 3000)}号{rng.randint(1, 20)}号楼{rng.randint(1, 30)}0{rng.randint(1, 6)}室"

    def name(self, surname: str | None = None) -> str:
        rng = self.rng
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        return (surname or rng.choice(SURNAMES)) + given

    def household(self, size: int) -> Iterator[tuple[str, dict[str, Any]]]:
        rng = self.rng
        local = rng.random() < 0.35
        if local:
            region, district = rng.choice(SHANGHAI)
            hukou_address = self.shanghai_address(district)
        else:
            region, place = rng.choice(ELSEWHERE)
            hukou_address = f"{place}{rng.choice(HOME_ROADS)}{rng.randint(1, 500)}号"
        surname = rng.choice(SURNAMES)
        head_age = rng.randint(25, 80)
        members: list[tuple[str, int, str, str]] = [("本人", head_age, rng.choice("MF"), surname)]
        if size >= 2:
            head_gender = members[0][2]
            members.append(
                (
                    "配偶",
                    max(20, head_age + rng.randint(-5, 5)),
                    "F" if head_gender == "M" else "M",
                    rng.choice(SURNAMES),
                )
            )
        for _ in range(size - len(members)):
            gender = rng.choice("MF")
            members.append(("子" if gender == "M" else "女", max(0, head_age - rng.randint(22, 38)), gender, surname))

        head_id = ""
        adults: list[str] = []
        for relation, age, gender, family_name in members:
            birth = self.today - timedelta(days=age * 365 + rng.randint(0, 364))
            id_number = self.id_number(region, birth, gender)
            head_id = head_id or id_number
            draw = rng.random()
            status = "active" if draw < 0.985 else ("deceased" if draw < 0.995 else "cancelled")
            yield (
                "persons",
                {
                    "id_number": id_number,
                    "name": self.name(family_name),
                    "gender": gender,
                    "ethnicity": rng.choice(ETHNICITIES),
                    "birth_date": birth.isoformat(),
                    "status": status,
                    "hukou": {
                        "province_code": region[:2],
                        "address": hukou_address,
                        "household_head_id_number": head_id,
                        "relation_to_head": relation,
                    },
                },
            )
            if age >= 18:
                adults.append(id_number)
                if rng.random() < 0.015:
                    yield (
                        "criminal_records",
                        {
                            "id_number": id_number,
                            "case_number": f"({rng.randint(1995, self.today.year - 1)})沪{region[2:]}刑初{self.cases.next()}号",
                            "offence": rng.choice(OFFENCES),
                            "judgment_date": self.day(days_ago_min=400, days_ago_max=9000).isoformat(),
                        },
                    )
        owners = adults[:2]
        if local:
            if owners and rng.random() < 0.6:
                yield "properties", self._property(hukou_address, owners)
            return
        yield from self._migrant_home(adults, owners)

    def _migrant_home(self, adults: list[str], owners: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        rng = self.rng
        home = self.shanghai_address()
        for id_number in adults:
            if rng.random() < 0.85:
                registered = self.day(days_ago_min=0, days_ago_max=3000)
                yield (
                    "residence_registrations",
                    {"id_number": id_number, "address": home, "registered_on": registered.isoformat()},
                )
        draw = rng.random()
        if owners and draw < 0.25:
            yield "properties", self._property(home, owners)
        elif adults and draw < 0.85:
            start = self.day(days_ago_min=0, days_ago_max=1500)
            end = start + timedelta(days=rng.choice([365, 730, 1095]) - 1)
            yield (
                "leases",
                {
                    "registration_number": f"沪租备({start.year})第{self.leases.next():08d}号",
                    "address": home,
                    "tenant_id_numbers": adults,
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                },
            )

    def _property(self, address: str, owners: list[str]) -> dict[str, Any]:
        return {
            "certificate_number": f"沪({self.rng.randint(2000, self.today.year)})不动产权第{self.certificates.next():08d}号",
            "address": address,
            "owner_id_numbers": list(owners),
        }


def iter_records(people: int, seed: int, *, today: date | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(section, record) pairs for exactly `people` persons, deterministic for a seed and a day."""
    gen = _Generator(seed, today or shanghai_today())
    remaining = people
    while remaining > 0:
        size = min(remaining, gen.rng.choice((1, 1, 2, 2, 3, 3, 4)))
        remaining -= size
        yield from gen.household(size)


def generate(people: int, seed: int, *, today: date | None = None) -> dict[str, list[dict[str, Any]]]:
    """The whole dataset in memory; for large files use `write_dataset`."""
    dataset: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
    for section, record in iter_records(people, seed, today=today):
        dataset[section].append(record)
    return dataset


def write_dataset(
    path: Path,
    *,
    people: int,
    seed: int,
    today: date | None = None,
    on_person: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the dataset to `path` streamingly; returns how many records of each section."""
    counts = dict.fromkeys(SECTIONS, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".generate-") as tmp:
        # Sections are interleaved as households are generated; one spill file each, joined at the end.
        parts: dict[str, TextIO] = {s: open(Path(tmp) / s, "w", encoding="utf-8") for s in SECTIONS}  # noqa: SIM115
        try:
            for section, record in iter_records(people, seed, today=today):
                out = parts[section]
                if counts[section]:
                    out.write(",\n")
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                counts[section] += 1
                if section == "persons" and on_person is not None:
                    on_person(counts["persons"])
        finally:
            for part in parts.values():
                part.close()
        with open(path, "w", encoding="utf-8") as target:
            for i, section in enumerate(SECTIONS):
                target.write(("{" if i == 0 else ",\n") + f'"{section}":[\n')
                with open(Path(tmp) / section, encoding="utf-8") as part:
                    shutil.copyfileobj(part, target)
                target.write("\n]")
            target.write("}\n")
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="generate", description="Generate a synthetic agency dataset.")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.monotonic()
    step = max(1, args.people // 20)  # a line per 5 %: redrawing per person would cost more than generating

    def advance(done: int) -> None:
        # Plain lines on stderr: the generator ships in the wheel, whose runtime set has no progress-bar library.
        if done % step == 0 or done == args.people:
            print(f"generating: {done}/{args.people} people, {time.monotonic() - started:.1f} s", file=sys.stderr)

    counts = write_dataset(args.out, people=args.people, seed=args.seed, on_person=advance)
    summary = ", ".join(f"{n} {section.replace('_', ' ')}" for section, n in counts.items())
    print(f"wrote {args.out}: {summary}")


if __name__ == "__main__":
    main()
