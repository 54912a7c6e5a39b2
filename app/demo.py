"""Deterministic demo data for Kabupaten Tabalong, written through the engine's value checks.

People get NIKs and No. KKs that pass the validator and match their kecamatan, birth date and
sex, with serials spread over 0001-0999 (masked numbers differ). A few regulars are on two or
three aid rosters, in a referral or at the bimtek, so the recipient history has something to
show. Every record of a scoped form gets its region code the way the screens give it. The
same seed gives the same data. `scale` adds that many extra roster lines for benchmarks.

Referrals go through the SLRT workflow of forms/rujukan.yaml: some in every state, with the
stays, timers and timeline (events) a real history leaves. Their stays are placed before the
real time of loading, so that in every state with a deadline some are not yet due and some are
overdue at each level of the ladder (the deadline and each escalation due, none fired yet: the
scheduler's sweep fires them); closed ones have each outcome.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from faker import Faker

from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import validate_values
from app.forms_engine.spec import FormSpec
from app.forms_engine.tables import all_tables, build_table
from app.regions.importer import region_table
from app.workflows.calendar import WorkingCalendar
from app.workflows.ladder import Ladder
from app.workflows.models import event_table, stay_table, timer_table

SEED = 20201104
BATCH = 5000
AGENCIES = [
    {
        "nama": "Dinas Sosial Kabupaten Tabalong",
        "jenis": "opd",
        "telepon": "0526-2021234",
        "alamat": "Jl. Tanjung Selatan, Tanjung",
    },
    {"nama": "Dinas Kesehatan Kabupaten Tabalong", "jenis": "opd", "alamat": "Jl. Ir. P. H. M. Noor, Tanjung"},
    {"nama": "Dinas Pendidikan Kabupaten Tabalong", "jenis": "opd", "alamat": "Jl. Pangeran Antasari, Tanjung"},
    {"nama": "Dinas Perumahan Rakyat dan Kawasan Permukiman", "jenis": "opd"},
    {"nama": "Badan Perencanaan Pembangunan Daerah (Bappeda)", "jenis": "opd"},
    {"nama": "Dinas Kependudukan dan Pencatatan Sipil", "jenis": "opd"},
    {"nama": "BPJS Kesehatan Cabang Tanjung", "jenis": "bpjs", "email": "kc-tanjung@bpjs-kesehatan.go.id"},
    {"nama": "Kementerian Sosial RI", "jenis": "vertikal"},
]
PMKS = [
    "Fakir miskin",
    "Anak terlantar",
    "Lanjut usia terlantar",
    "Penyandang disabilitas",
    "Korban bencana alam",
    "Perempuan rawan sosial ekonomi",
    "Keluarga bermasalah sosial psikologis",
    "Anak jalanan",
    "Gelandangan",
    "Pengemis",
]
PSKS = [
    ("Tenaga Kesejahteraan Sosial Kecamatan", "TKSK"),
    ("Pekerja Sosial Masyarakat", "PSM"),
    ("Karang Taruna", "KT"),
    ("Lembaga Kesejahteraan Sosial", "LKS"),
    ("Taruna Siaga Bencana", "Tagana"),
    ("Pendamping PKH", "SDM PKH"),
]
AID_TYPES = [
    ("Paket sembako", "paket"),
    ("Makanan siap saji", "porsi"),
    ("Bantuan uang", "rupiah"),
    ("Sandang", "paket"),
]
DISABILITIES = ["Disabilitas fisik", "Disabilitas intelektual", "Disabilitas mental", "Disabilitas sensorik"]


@dataclass(frozen=True)
class Person:
    """A made-up resident whose NIK and No. KK agree with their region, birth date and sex."""

    name: str
    nik: str
    kk: str
    born: date
    sex: str  # "L" or "P"
    desa: str
    address: str
    phone: str


class People:
    """Makes residents of the given villages; NIKs and family cards never repeat by chance.

    Half of them live in three focus kecamatan (where the office's programmes concentrate,
    and where the KUBE groups and the first Puskesos are), so every area-scoped screen of
    a busy kecamatan has records of its own, and every one has records of other areas.
    """

    def __init__(self, rng: random.Random, fake: Faker, villages: list[str]) -> None:
        self.rng, self.fake, self.villages = rng, fake, villages
        self.focus = rng.sample(sorted({v[:8] for v in villages}), min(3, len({v[:8] for v in villages})))
        self.in_focus = self.focus_villages()
        self.niks: set[str] = set()
        self.kks: set[str] = set()

    def make(
        self, sex: str | None = None, age: tuple[int, int] = (18, 80), desa: str | None = None, kk: str | None = None
    ) -> Person:
        sex = sex or self.rng.choice("LP")
        desa = desa or self.rng.choice(self.in_focus if self.rng.random() < 0.5 else self.villages)
        born = date(2026 - self.rng.randint(*age), self.rng.randint(1, 12), self.rng.randint(1, 28))
        region = desa[:8].replace(".", "")
        day = born.day + (40 if sex == "P" else 0)
        nik = self._unused(self.niks, f"{region}{day:02d}{born:%m%y}")
        if kk is None:
            issued = date(
                self.rng.randint(max(2005, born.year), 2024), self.rng.randint(1, 12), self.rng.randint(1, 28)
            )
            kk = self._unused(self.kks, f"{region}{issued:%d%m%y}")
        name = self.fake.name_female() if sex == "P" else self.fake.name_male()
        phone = f"08{self.rng.choice('1235789')}{self.rng.randint(10**8, 10**9 - 1)}"
        return Person(name, nik, kk, born, sex, desa, self.fake.street_address(), phone)

    def focus_villages(self, kecamatan: str | None = None) -> list[str]:
        """The villages of the focus kecamatan (or of one of them)."""
        return [v for v in self.villages if v[:8] in ([kecamatan] if kecamatan else self.focus)]

    def _unused(self, used: set[str], prefix: str) -> str:
        """Prefix plus a serial 0001-0999 (as a kecamatan's registry hands them out) not used yet."""
        while (number := f"{prefix}{self.rng.randint(1, 999):04d}") in used:
            pass
        used.add(number)
        return number


@dataclass(frozen=True)
class Regulars:
    """People on several lists, so that the recipient history (/riwayat/) shows a real history.

    Elders get the permakanan programme and sembako and/or disability aid, half of them were
    referred; volunteers trained at the bimtek and get sembako and/or disability aid, some
    were referred too. Every one of them is in two to four records.
    """

    elders: tuple[Person, ...]
    volunteers: tuple[Person, ...]

    def roster(self, jenis: str) -> list[Person]:
        """The regulars on the roster of a programme of this type."""
        if jenis == "permakanan":
            return list(self.elders)
        if jenis == "sembako":
            return [*self.elders[:8], *self.volunteers[:4]]
        if jenis == "disabilitas":
            return [*self.elders[4:], *self.volunteers[2:]]
        return []

    def referred(self) -> list[Person]:
        """The regulars who also came to the Puskesos desk and were referred."""
        return [*self.elders[::2], self.volunteers[0], self.volunteers[3]]


def regulars(people: People) -> Regulars:
    """Twelve elders and six volunteers who appear in several forms."""
    elders = tuple(people.make(age=(60, 78)) for _ in range(12))
    return Regulars(elders, tuple(people.make(age=(25, 50)) for _ in range(6)))


def spread(size: int, members: list[Person]) -> dict[int, Person]:
    """Positions in a list of `size` lines for the members, evenly apart (not all at the top)."""
    if not members:
        return {}
    step = size // len(members)
    return {k * size // len(members) + step // 2: p for k, p in enumerate(members)}


class Loader:
    """Validates demo records with the engine and inserts them in batches."""

    def __init__(self, conn: sa.Connection, specs: dict[str, FormSpec]) -> None:
        self.conn, self.specs = conn, specs
        metadata = sa.MetaData()
        self.tables = {
            part.slug: build_table(part, metadata, None) for spec in specs.values() for part in all_tables(spec)
        }
        self.now = datetime(2026, 11, 1, 8, 0)

    def has(self, slug: str) -> bool:
        return slug in self.tables

    def empty(self, slug: str) -> bool:
        return not self.conn.execute(sa.select(sa.func.count()).select_from(self.tables[slug])).scalar()

    def row(self, slug: str, values: dict[str, Any], **system: Any) -> dict[str, Any]:
        spec = self._spec(slug)
        clean, errors = validate_values(spec, values)
        if errors:
            raise ValueError(f"demo record for {slug} is invalid: {values} -> {errors}")
        row = {column_name(spec.field(k)): v for k, v in clean.items()}
        region = self.region(spec, clean, system.get("parent_id"))
        return row | {"region_code": region, "created_on": self.now, "changed_on": self.now} | system

    def region(self, spec: FormSpec, clean: dict[str, Any], parent_id: int | None) -> str | None:
        """The record's region code as app.access.scope.record_region() computes it on screens.

        Its own region field; else the region of the record its `region_field` reference names
        (attendance -> participant); else its parent's (child rows); else none (shared lists).
        """
        if spec.region_field:
            field = spec.field(spec.region_field)
            if field.type == "region":
                return clean.get(field.name)
            return self._stored_region(field.target, clean.get(field.name))  # type: ignore[arg-type]
        if spec.parent:
            return self._stored_region(spec.parent, parent_id)
        return None

    def _stored_region(self, slug: str, record_id: int | None) -> str | None:
        """The region code stored on a record (None when there is no such record)."""
        if record_id is None or slug not in self.tables:
            return None
        table = self.tables[slug]
        return self.conn.execute(sa.select(table.c.region_code).where(table.c.id == record_id)).scalar()

    def insert(self, slug: str, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows; return their ids in order."""
        table = self.tables[slug]
        ids = []
        for row in rows:  # one by one where ids are needed (small tables)
            ids.append(self.conn.execute(table.insert().values(**row).returning(table.c.id)).scalar_one())
        return ids

    def bulk(self, slug: str, rows: Iterator[dict[str, Any]]) -> int:
        table, count, batch = self.tables[slug], 0, []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self.conn.execute(table.insert(), batch)
                count, batch = count + len(batch), []
        if batch:
            self.conn.execute(table.insert(), batch)
        return count + len(batch)

    def _spec(self, slug: str) -> FormSpec:
        for spec in self.specs.values():
            for part in all_tables(spec):
                if part.slug == slug:
                    return part
        raise KeyError(slug)


def tabalong_villages(conn: sa.Connection, district: str = "63.09") -> list[str]:
    """Desa/kelurahan codes of the district (from the region list; a small fallback without it)."""
    t = region_table
    rows = conn.execute(
        sa.select(t.c.code)
        .where(t.c.level == 4, t.c.code >= district + ".", t.c.code < district + "/")
        .order_by(t.c.code)
    ).scalars()
    return list(rows) or [f"{district}.0{k}.200{d}" for k in range(1, 4) for d in range(1, 6)]


def load_demo(conn: sa.Connection, specs: dict[str, FormSpec], scale: int = 0) -> dict[str, int]:
    """Fill the demo forms that are still empty; return how many records went into each."""
    rng, fake = random.Random(SEED), Faker("id_ID")
    fake.seed_instance(SEED)
    load = Loader(conn, specs)
    people = People(rng, fake, tabalong_villages(conn))
    regular = regulars(people)
    loaded: dict[str, int] = {}

    def fill(slug: str, rows: list[dict[str, Any]]) -> list[int]:
        if not load.has(slug) or not load.empty(slug):
            return []
        ids = load.insert(slug, [load.row(slug, r) for r in rows])
        loaded[slug] = len(ids)
        return ids

    fill("instansi", AGENCIES)
    pmks = fill("kategori_pmks", [{"kode": f"P{i + 1:02d}", "nama": n} for i, n in enumerate(PMKS)])
    psks = fill("jenis_psks", [{"nama": n, "singkatan": s} for n, s in PSKS])
    fill("jenis_bantuan", [{"nama": n, "satuan": u} for n, u in AID_TYPES])
    disabilities = fill("jenis_disabilitas", [{"nama": n} for n in DISABILITIES])
    _office(load, loaded)
    _bimtek(load, loaded, people, rng, regular)
    _puskesos(load, loaded, people, rng, psks)
    _aid(load, loaded, people, rng, pmks, disabilities, scale, regular)
    _referrals(load, loaded, people, rng, pmks, regular)
    return loaded


def _office(load: Loader, loaded: dict[str, int]) -> None:
    if not load.has("pengaturan_kantor") or not load.empty("pengaturan_kantor"):
        return
    values = {
        "kabupaten": "63.09",
        "pemerintah": "PEMERINTAH KABUPATEN TABALONG",
        "nama_kantor": "DINAS SOSIAL",
        "alamat": "Jl. Tanjung Selatan No. 1, Tanjung 71571",
        "telepon": "(0526) 2021234",
        "email": "dinsos@tabalongkab.go.id",
        "situs": "dinsos.tabalongkab.go.id",
        "kota_ttd": "Tanjung",
    }
    [office] = load.insert("pengaturan_kantor", [load.row("pengaturan_kantor", values)])
    official = {
        "nama": "Drs. H. Ahmad Fauzi, M.Si",
        "jabatan": "Kepala Dinas Sosial Kabupaten Tabalong",
        "nip": "197005121995031002",
        "pangkat": "Pembina Utama Muda (IV/c)",
        "peran": "kepala",
    }
    load.insert("pengaturan_kantor__pejabat", [load.row("pengaturan_kantor__pejabat", official, parent_id=office)])
    loaded["pengaturan_kantor"] = 1


def _bimtek(load: Loader, loaded: dict[str, int], people: People, rng: random.Random, regular: Regulars) -> None:
    """The November 2020 Puskesos training: two batches of 75, attendance per participant."""
    if not all(
        load.has(s) for s in ("bimtek", "bimtek_angkatan", "bimtek_peserta", "bimtek_kehadiran")
    ) or not load.empty("bimtek"):
        return
    event = {
        "judul": "Bimbingan Teknis Puskesos Kabupaten Tabalong",
        "penyelenggara": "Dinas Sosial Kabupaten Tabalong",
        "tempat": "Gedung Informasi, Tanjung",
        "tanggal_mulai": "2020-11-04",
        "tanggal_selesai": "2020-11-05",
        "narasumber": "Narasumber Kementerian Sosial RI\nKepala Dinas Sosial Kabupaten Tabalong",
    }
    [event_id] = load.insert("bimtek", [load.row("bimtek", event)])
    batches = load.insert(
        "bimtek_angkatan",
        [
            load.row(
                "bimtek_angkatan",
                {
                    "bimtek": event_id,
                    "nomor": n,
                    "nama": f"Angkatan {'I' * n}",
                    "tanggal": day,
                    "tempat": "Gedung Informasi, Tanjung",
                    "kapasitas": 75,
                },
            )
            for n, day in ((1, "2020-11-04"), (2, "2020-11-05"))
        ],
    )
    participants, attendance = [], []
    trained = spread(150, list(regular.volunteers))
    for batch_id, day in zip(batches, ("2020-11-04", "2020-11-05"), strict=True):
        for _ in range(75):
            p = trained.get(len(participants)) or people.make(age=(22, 55))
            participants.append(
                load.row(
                    "bimtek_peserta",
                    {
                        "angkatan": batch_id,
                        "nama": p.name,
                        "nik": p.nik,
                        "jenis_kelamin": p.sex,
                        "desa": p.desa,
                        "jabatan": rng.choice(
                            ["Ketua Puskesos", "Sekretaris Puskesos", "Anggota Puskesos", "Kepala Seksi Kesra"]
                        ),
                        "instansi": "Pemerintah Desa",
                        "telepon": p.phone,
                    },
                )
            )
            attendance.append(day)
    ids = load.insert("bimtek_peserta", participants)
    statuses = ["hadir"] * 90 + ["izin"] * 4 + ["sakit"] * 3 + ["alpa"] * 3
    load.bulk(
        "bimtek_kehadiran",
        iter(
            [
                load.row(
                    "bimtek_kehadiran",
                    {
                        "peserta": pid,
                        "tanggal": day,
                        "status": (s := rng.choice(statuses)),
                        "jam": f"0{rng.randint(7, 8)}:{rng.randint(0, 59):02d}" if s == "hadir" else None,
                    },
                )
                for pid, day in zip(ids, attendance, strict=True)
            ]
        ),
    )
    loaded.update(bimtek=1, bimtek_angkatan=2, bimtek_peserta=len(ids), bimtek_kehadiran=len(ids))


def _puskesos(load: Loader, loaded: dict[str, int], people: People, rng: random.Random, psks: list[int]) -> None:
    if not load.has("puskesos") or not load.empty("puskesos"):
        return
    pilots = [
        v for k in people.focus for v in rng.sample(people.focus_villages(k), min(2, len(people.focus_villages(k))))
    ]  # active ones first
    others = [v for v in people.villages if v not in pilots]
    villages = pilots + rng.sample(others, min(15 - len(pilots), len(others)))
    states = ["aktif"] * 7 + ["terbentuk"] * 4 + ["direncanakan"] * 3 + ["tidak_aktif"]
    count = 0
    for number, (desa, state) in enumerate(zip(villages, states, strict=False), start=1):
        decreed = state in ("aktif", "terbentuk", "tidak_aktif")
        village = (
            load.conn.execute(sa.select(region_table.c.name).where(region_table.c.code == desa)).scalar()
            or f"Desa {number}"
        )
        values = {
            "desa": desa,
            "nama": f"Puskesos {village}",
            "status": state,
            "sk_nomor": f"{number:02d}/SK/KADES/2021" if decreed else None,
            "sk_tanggal": "2021-03-15" if decreed else None,
            "sumber_anggaran": rng.choice(["apbdes", "dana_desa"]),
            "anggaran_tahunan": rng.choice([5, 10, 15, 25]) * 1_000_000,
        }
        [pid] = load.insert("puskesos", [load.row("puskesos", values)])
        board = ["ketua", "sekretaris", "bendahara", "anggota", "anggota"] if state != "direncanakan" else []
        rows = []
        for role in board:
            p = people.make(desa=desa)
            rows.append(
                load.row(
                    "puskesos__pengurus",
                    {
                        "nama": p.name,
                        "nik": p.nik,
                        "peran": role,
                        "jenis_psks": rng.choice(psks) if psks else None,
                        "telepon": p.phone,
                    },
                    parent_id=pid,
                )
            )
        load.insert("puskesos__pengurus", rows)
        count += 1
    loaded["puskesos"] = count


def _aid(
    load: Loader,
    loaded: dict[str, int],
    people: People,
    rng: random.Random,
    pmks: list[int],
    disabilities: list[int],
    scale: int,
    regular: Regulars,
) -> None:
    """Three programmes' rosters (some regulars on two or three of them) and the KUBE groups."""
    if not all(load.has(s) for s in ("program_bantuan", "penerima_bantuan")) or not load.empty("program_bantuan"):
        return
    programmes = [
        {
            "nama": "Bantuan Permakanan Lansia 2026 Tahap I",
            "jenis": "permakanan",
            "tahun": 2026,
            "tahap": 1,
            "sumber_anggaran": "apbd",
            "nilai_satuan": 450000,
            "kuota": 150 + scale,
        },
        {
            "nama": "Sembako Pencegahan Stunting 2026",
            "jenis": "sembako",
            "tahun": 2026,
            "tahap": 1,
            "sumber_anggaran": "apbd",
            "barang": "1 paket sembako",
            "kuota": 120,
        },
        {
            "nama": "Bantuan Disabilitas 2026",
            "jenis": "disabilitas",
            "tahun": 2026,
            "tahap": 1,
            "sumber_anggaran": "apbd",
            "nilai_satuan": 1_000_000,
            "kuota": 60,
        },
    ]
    ids = load.insert("program_bantuan", [load.row("program_bantuan", p) for p in programmes])
    sizes = [140, 110, 50]

    def lines() -> Iterator[dict[str, Any]]:
        for pid, size, programme in zip(ids, sizes, programmes, strict=True):
            family: Person | None = None
            listed = spread(size, regular.roster(str(programme["jenis"])))
            for i in range(size):
                same_kk = family is not None and i % 25 == 0  # a few pairs from one family card: flagged for review
                p = listed.get(i) or people.make(
                    age=(60, 90) if programme["jenis"] == "permakanan" else (18, 80),
                    desa=family.desa if same_kk else None,
                    kk=family.kk if same_kk else None,
                )  # type: ignore[union-attr]
                family = p
                status = rng.choice(["tersalurkan"] * 6 + ["belum"] * 3 + ["gagal"])
                yield load.row(
                    "penerima_bantuan",
                    {
                        "program": pid,
                        "nik": p.nik,
                        "no_kk": p.kk,
                        "nama": p.name,
                        "alamat": p.address,
                        "desa": p.desa,
                        "terdaftar_dtks": rng.random() < 0.8,
                        "desil": rng.randint(1, 4),
                        "kategori_pmks": rng.choice(pmks) if pmks else None,
                        "jenis_disabilitas": rng.choice(disabilities)
                        if programme["jenis"] == "disabilitas" and disabilities
                        else None,
                        "jumlah": programme.get("nilai_satuan"),
                        "barang": programme.get("barang"),
                        "status_penyaluran": status,
                        "tanggal_penyaluran": "2026-03-10" if status == "tersalurkan" else None,
                        "alasan_gagal": "Penerima pindah domisili" if status == "gagal" else None,
                    },
                )
        for _ in range(scale):  # bench-sized data: more lines in the first programme
            p = people.make(age=(60, 90))
            yield load.row(
                "penerima_bantuan",
                {
                    "program": ids[0],
                    "nik": p.nik,
                    "no_kk": p.kk,
                    "nama": p.name,
                    "desa": p.desa,
                    "status_penyaluran": "belum",
                },
            )

    loaded["program_bantuan"] = len(ids)
    loaded["penerima_bantuan"] = load.bulk("penerima_bantuan", lines())
    _business_groups(load, loaded, people, rng)


def _business_groups(load: Loader, loaded: dict[str, int], people: People, rng: random.Random) -> None:
    """A KUBE programme with six groups of five members in different villages."""
    if not all(load.has(s) for s in ("kelompok_usaha", "kelompok_usaha__anggota")):
        return
    programme = {
        "nama": "Bantuan Usaha KUBE 2026",
        "jenis": "kube",
        "tahun": 2026,
        "tahap": 1,
        "sumber_anggaran": "apbd",
        "nilai_satuan": 20_000_000,
        "kuota": 6,
    }
    (pid,) = load.insert("program_bantuan", [load.row("program_bantuan", programme)])
    trades = ["Warung sembako", "Ternak ayam kampung", "Anyaman purun", "Budidaya ikan patin", "Kue tradisional"]
    members = []
    for number in range(1, 7):
        chair = people.make(
            age=(25, 60), desa=rng.choice(people.focus_villages(people.focus[number % len(people.focus)]))
        )
        (group,) = load.insert(
            "kelompok_usaha",
            [
                load.row(
                    "kelompok_usaha",
                    {
                        "program": pid,
                        "nama_kelompok": f"KUBE {chair.name.split()[0]} {number}",
                        "desa": chair.desa,
                        "jenis_usaha": rng.choice(trades),
                        "jumlah": 20_000_000,
                        "status_penyaluran": "tersalurkan" if number % 3 else "belum",
                        "tanggal_penyaluran": "2026-05-20" if number % 3 else None,
                    },
                )
            ],
        )
        for i, role in enumerate(["ketua", "sekretaris", "bendahara", "anggota", "anggota"]):
            p = chair if i == 0 else people.make(age=(20, 65), desa=chair.desa)
            members.append(
                load.row(
                    "kelompok_usaha__anggota",
                    {"nama": p.name, "nik": p.nik, "no_kk": p.kk, "peran": role},
                    parent_id=group,
                )
            )
    load.insert("kelompok_usaha__anggota", members)
    loaded["program_bantuan"] += 1
    loaded["kelompok_usaha"] = 6
    loaded["kelompok_usaha__anggota"] = len(members)


def _referrals(
    load: Loader, loaded: dict[str, int], people: People, rng: random.Random, pmks: list[int], regular: Regulars
) -> None:
    """Fifty registrations at the Puskesos desks, most referred on to an agency."""
    if not load.has("rujukan") or not load.empty("rujukan"):
        return
    agencies = (
        list(load.conn.execute(sa.select(load.tables["instansi"].c.id)).scalars()) if load.has("instansi") else []
    )
    needs = [
        "Belum memiliki BPJS Kesehatan, sakit menahun",
        "Anak putus sekolah karena biaya",
        "Rumah tidak layak huni",
        "Lansia tinggal sendiri tanpa penghasilan",
        "Penyandang disabilitas butuh alat bantu",
        "Belum terdaftar DTKS",
    ]
    programmes = ["PBI-JK", "KIP/PIP", "RTLH", "Permakanan", "ATENSI", "PKH"]
    rows = []
    referred = spread(50, regular.referred())
    for i in range(50):
        p = referred.get(i) or people.make()
        sent = bool(i % 4) or i in referred  # most registrations, and every regular's, were referred on
        registered = date(2026, 9, 1) + timedelta(days=rng.randint(0, 80))
        rows.append(
            load.row(
                "rujukan",
                {
                    "tanggal_registrasi": registered.isoformat(),
                    "nik": p.nik,
                    "no_kk": p.kk,
                    "nama": p.name,
                    "tanggal_lahir": p.born.isoformat(),
                    "jenis_kelamin": p.sex,
                    "alamat": p.address,
                    "desa": p.desa,
                    "telepon": p.phone,
                    "kategori_pmks": rng.choice(pmks) if pmks else None,
                    "uraian": rng.choice(needs),
                    "sumber": rng.choice(["datang_langsung", "penjangkauan", "pengaduan"]),
                    "dirujuk_ke": rng.choice(agencies) if agencies and sent else None,
                    "program_tujuan": rng.choice(programmes),
                    "tanggal_rujukan": (registered + timedelta(days=rng.randint(0, 5))).isoformat() if sent else None,
                },
            )
        )
    ids = load.insert("rujukan", rows)
    loaded["rujukan"] = len(ids)
    if load.specs.get("rujukan") is not None and load.specs["rujukan"].workflow is not None:
        _referral_history(load, ids, agencies, rng)


# The SLRT steps that lead a referral to each state (and to each outcome of `selesai`).
REFERRAL_PATHS = {
    "terdaftar": (),
    "diverifikasi": ("verifikasi",),
    "dirujuk": ("verifikasi", "rujuk"),
    "ditangani": ("verifikasi", "rujuk", "tangani"),
    "dipantau": ("verifikasi", "rujuk", "tangani", "pantau"),
    "tertangani": ("verifikasi", "rujuk", "tangani", "pantau", "selesaikan"),
    "ditolak": ("verifikasi", "tolak"),
    "tidak_dapat_dihubungi": ("verifikasi", "rujuk", "tidak_terhubungi"),
}
COMMENTS = {
    "rujuk": "Berkas lengkap, dirujuk sesuai kebutuhan",
    "tolak": "Sudah menerima bantuan yang sama",
    "tidak_terhubungi": "Tiga kali dikunjungi dan ditelepon, tidak ada di tempat",
}
DEMO_ACTOR_NAME = "demo"


def _entered_for(ladder: Ladder, now: datetime, due: int) -> datetime:
    """An instant before `now` from which exactly `due` of the stay's timers have come by `now`."""
    for days in range(0, 120):
        entered = now - timedelta(days=days, hours=1)
        if sum(t.at <= now for t in ladder.timers(entered)) == due:
            return entered
    raise ValueError(f"no entry time gives {due} due timers in {ladder.state.name}")


def _referral_history(load: Loader, ids: list[int], agencies: list[int], rng: random.Random) -> None:
    """Put the demo referrals in every state of the workflow, with stays, timers and timelines."""
    from app.workflows.holidays import office_calendar
    from app.workflows.service import TRANSITION, Actor, add_event, enter_state

    spec = load.specs["rujukan"]
    workflow = spec.workflow
    assert workflow is not None
    paths = {k: p for k, p in REFERRAL_PATHS.items() if all(workflow.transition(step) for step in p)}
    calendar: WorkingCalendar = office_calendar(load.conn)
    now = datetime.now(UTC)
    # In each state with a deadline: not yet due, then overdue at the deadline and at each level.
    targets: list[tuple[str, int]] = []
    for state in workflow.states:
        if state.name in paths and not state.terminal:
            targets += [(state.name, due) for due in range(len(Ladder(state, calendar).timers(now)) + 1)]
    targets += [(outcome, 0) for outcome in ("tertangani", "ditolak", "tidak_dapat_dihubungi") if outcome in paths] * 2
    targets += [(rng.choice(["terdaftar", "diverifikasi"]), 0) for _ in range(len(ids) - len(targets))]
    table = load.tables["rujukan"]
    actor = Actor(None, DEMO_ACTOR_NAME)
    for record_id, (target, due) in zip(ids, targets, strict=False):
        path = paths[target]
        final = workflow.transition(path[-1]).target if path else workflow.initial  # type: ignore[union-attr]
        ladder = Ladder(workflow.state(final), calendar)  # type: ignore[arg-type]
        last = _entered_for(ladder, now, due) if ladder.state.sla else now - timedelta(days=rng.randint(1, 20))
        # Each earlier step one to three days before the next (within their deadlines).
        times = [last]
        for _ in path:
            times.insert(0, times[0] - timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5)))
        row = load.conn.execute(sa.select(table.c.region_code).where(table.c.id == record_id)).one()
        stay = enter_state(
            load.conn, spec, record_id, workflow.initial, times[0], actor, row.region_code, calendar=calendar
        )
        add_event(load.conn, "rujukan", record_id, "created", times[0], actor, to_state=workflow.initial, stay_id=stay)
        state = workflow.initial
        for step, at in zip(path, times[1:], strict=True):
            transition = workflow.transition(step)
            assert transition is not None
            stay = enter_state(
                load.conn, spec, record_id, transition.target, at, actor, row.region_code, calendar=calendar
            )
            add_event(
                load.conn,
                "rujukan",
                record_id,
                TRANSITION,
                at,
                actor,
                transition=step,
                from_state=state,
                to_state=transition.target,
                comment=COMMENTS.get(step),
                stay_id=stay,
            )
            state = transition.target
        values: dict[str, Any] = {workflow.state_field: state}
        if "rujuk" in path:  # the step requires an agency and a date
            values |= {"dirujuk_ke": rng.choice(agencies) if agencies else None}
            values |= {"tanggal_rujukan": times[path.index("rujuk") + 1].date()}
        if target in ("tertangani", "ditolak", "tidak_dapat_dihubungi"):
            values["hasil"] = target
        if target == "ditolak":
            values["alasan_penolakan"] = COMMENTS["tolak"]
        columns = {c.name for c in table.c}
        load.conn.execute(
            table.update()
            .where(table.c.id == record_id)
            .values(
                {
                    ("dirujuk_ke_id" if k == "dirujuk_ke" else k): v
                    for k, v in values.items()
                    if ("dirujuk_ke_id" if k == "dirujuk_ke" else k) in columns and v is not None
                }
            )
        )


# Children before parents, referring forms before the forms they refer to.
DEMO_FORMS = [
    "rujukan",
    "kelompok_usaha__anggota",
    "kelompok_usaha",
    "penerima_bantuan",
    "program_bantuan",
    "puskesos__pengurus",
    "puskesos",
    "bimtek_kehadiran",
    "bimtek_peserta",
    "bimtek_angkatan",
    "bimtek",
    "pengaturan_kantor__pejabat",
    "pengaturan_kantor",
    "jenis_disabilitas",
    "jenis_bantuan",
    "jenis_psks",
    "kategori_pmks",
    "instansi",
]


def clear_demo(conn: sa.Connection, specs: dict[str, FormSpec]) -> None:
    """Delete every record of the demo forms (for `flask simpul demo --reload`)."""
    load = Loader(conn, specs)
    for slug in DEMO_FORMS:
        if load.has(slug):
            conn.execute(load.tables[slug].delete())
    # The referrals' stays, timers and timelines go with them.
    stays = sa.select(stay_table.c.id).where(stay_table.c.form.in_(DEMO_FORMS))
    conn.execute(timer_table.delete().where(timer_table.c.stay_id.in_(stays)))
    conn.execute(stay_table.delete().where(stay_table.c.form.in_(DEMO_FORMS)))
    conn.execute(event_table.delete().where(event_table.c.form.in_(DEMO_FORMS)))
