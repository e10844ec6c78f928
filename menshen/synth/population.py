"""The population the agency serves: persons in households at address codes, by district.

Address codes are `TNdd-vvv-nn`: district, village (里) and neighbourhood (鄰); about 15
households share a neighbourhood, which is what "same address area" means in this world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from menshen.synth.names import full_names, surnames, unique_ids

HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5, 6])
HOUSEHOLD_P = np.array([0.26, 0.24, 0.21, 0.16, 0.09, 0.04])
HOUSEHOLDS_PER_NEIGHBOURHOOD = 15
NEIGHBOURHOODS_PER_VILLAGE = 20


@dataclass
class Population:
    person_id: pa.Array  # string, checksum-valid ids
    name: pa.Array
    household_id: pa.Array
    address_code: pa.Array
    surname: np.ndarray  # str
    sex: np.ndarray  # "M" / "F"
    district: np.ndarray  # int per person
    household: np.ndarray  # int household index per person
    hh_start: np.ndarray  # first person index of each household
    hh_size: np.ndarray
    neighbourhood: np.ndarray  # int neighbourhood index per person (global)
    district_start: np.ndarray  # person index range of each district
    district_end: np.ndarray

    def __len__(self) -> int:
        return len(self.person_id)

    def sample_in_districts(self, rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
        """One random person index in each given district."""
        lo = self.district_start[districts]
        hi = self.district_end[districts]
        return lo + (rng.random(len(districts)) * (hi - lo)).astype(np.int64)

    def rename(self, index: int, name: str) -> None:
        names = self.name.to_pylist()
        names[index] = name
        self.name = pa.array(names, type=pa.string())

    def table(self) -> pa.Table:
        return pa.table(
            {
                "person_id": self.person_id,
                "name": self.name,
                "household_id": self.household_id,
                "address_code": self.address_code,
            }
        )


def build_population(rng: np.random.Generator, persons: int, districts: int) -> Population:
    n_hh = int(persons / 2.6 * 1.15) + 10
    sizes = rng.choice(HOUSEHOLD_SIZES, size=n_hh, p=HOUSEHOLD_P)
    cut = int(np.searchsorted(np.cumsum(sizes), persons)) + 1
    sizes = sizes[:cut]
    sizes[-1] -= int(sizes.sum() - persons)
    if sizes[-1] <= 0:  # pragma: no cover - defensive
        sizes = sizes[:-1]
    n_hh = len(sizes)
    # Districts differ in size (urban districts are bigger).
    weights = rng.lognormal(0.0, 0.5, districts)
    hh_district = np.sort(rng.choice(districts, size=n_hh, p=weights / weights.sum()))
    hh_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    household = np.repeat(np.arange(n_hh), sizes)
    district = hh_district[household]
    n = len(household)

    # Position of each household inside its district -> neighbourhood and village.
    first_of_district = np.searchsorted(hh_district, np.arange(districts))
    local = np.arange(n_hh) - first_of_district[hh_district]
    lin_local = local // HOUSEHOLDS_PER_NEIGHBOURHOOD
    village = lin_local // NEIGHBOURHOODS_PER_VILLAGE + 1
    lin = lin_local % NEIGHBOURHOODS_PER_VILLAGE + 1
    # A global neighbourhood number per household, for quick same-area look-ups.
    hh_neighbourhood = hh_district.astype(np.int64) * 100_000 + lin_local
    code = pc.binary_join_element_wise(
        pa.array(np.full(n_hh, "TN")),
        pc.utf8_lpad(pa.array(hh_district + 1).cast(pa.string()), 2, "0"),
        pa.array(np.full(n_hh, "-")),
        pc.utf8_lpad(pa.array(village).cast(pa.string()), 3, "0"),
        pa.array(np.full(n_hh, "-")),
        pc.utf8_lpad(pa.array(lin).cast(pa.string()), 2, "0"),
        "",
    )
    hh_label = pc.binary_join_element_wise(
        pa.array(np.full(n_hh, "HH")),
        pc.utf8_lpad(pa.array(np.arange(1, n_hh + 1)).cast(pa.string()), 8, "0"),
        "",
    )

    sex = np.where(rng.random(n) < 0.5, "M", "F")
    hh_surname = surnames(rng, n_hh)
    family = hh_surname[household]
    married_in = rng.random(n) < 0.22
    family = np.where(married_in, surnames(rng, n), family)
    name = full_names(rng, sex, family)
    person_id = unique_ids(rng, sex)
    hh_index = pa.array(household)
    district_start = np.searchsorted(district, np.arange(districts))
    district_end = np.searchsorted(district, np.arange(districts), side="right")
    return Population(
        person_id=person_id,
        name=name,
        household_id=pc.take(hh_label, hh_index),
        address_code=pc.take(code, hh_index),
        surname=family,
        sex=sex,
        district=district,
        household=household,
        hh_start=hh_start,
        hh_size=sizes,
        neighbourhood=hh_neighbourhood[household],
        district_start=district_start,
        district_end=district_end,
    )
