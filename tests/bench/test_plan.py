"""The region planner: its pick for k regions is within 5 % of the best set (exhaustive search),
and bad input is refused with a message that says how to fix it."""

from __future__ import annotations

import pytest

from benchmarks.geo.model import Model, REGIONS, users
from benchmarks.geo.plan import PlanError, exhaustive, main, parse_users, plan

MODEL = Model.calibrated()

MIXES = {
    "world": users(),
    "japan-heavy": parse_users("JP=70,US=10,DE=10,BR=5,AU=5"),
    "europe-and-africa": parse_users("DE=30,GB=20,NG=25,ZA=15,EG=10"),
    "americas": parse_users("US=40,BR=30,MX=15,AR=10,CA=5"),
}


@pytest.mark.parametrize("name", sorted(MIXES))
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_recommendation_is_within_five_percent_of_exhaustive_search(name, k):
    mix = MIXES[name]
    found, best = plan(mix, k, MODEL), exhaustive(mix, k, MODEL)
    assert len(found.regions) == k and len(set(found.regions)) == k
    assert found.mean_ms <= best.mean_ms * 1.05, (found, best)


def test_more_regions_never_make_the_mean_worse():
    means = [plan(MIXES["world"], k, MODEL).mean_ms for k in range(1, 6)]
    assert means == sorted(means, reverse=True)


def test_a_single_country_gets_its_nearest_region():
    assert plan(parse_users("JP=1"), 1, MODEL).regions == ("ap-northeast-1",)
    assert plan(parse_users("DE=1"), 1, MODEL).regions == ("eu-central-1",)


def test_csv_and_inline_mixes_agree(tmp_path):
    path = tmp_path / "mix.csv"
    path.write_text("country,weight\nJP,70\nus,10\n")
    assert parse_users(str(path)) == parse_users("JP=70,US=10") == {"JP": 70.0, "US": 10.0}


@pytest.mark.parametrize("text, fragment", [
    ("ZZ=10", "unknown country 'ZZ'"),
    ("JP=ten", "not a number"),
    ("JP=-1", "must be a finite number >= 0"),
    ("JP=nan", "must be a finite number >= 0"),
    ("JP", "is not COUNTRY=WEIGHT"),
    ("JP=0,US=0", "weighs nothing"),
])
def test_bad_user_mixes_say_what_is_wrong(text, fragment):
    with pytest.raises(PlanError, match="Fix|>= 0") as caught:
        parse_users(text)
    assert fragment in str(caught.value)


def test_the_command_prints_the_value_to_paste_and_refuses_an_unknown_region(capsys):
    assert main(["--origin", "ap-northeast-1", "--users", "JP=70,DE=30", "--max", "2"]) == 0
    out = capsys.readouterr().out
    assert "MOMENTO_REGIONS=ap-northeast-1\n" in out or "MOMENTO_REGIONS=ap-northeast-1 " in out
    assert "MOMENTO_REGIONS=eu-central-1,ap-northeast-1" in out
    assert main(["--origin", "mars-1", "--users", "JP=1"]) == 2
    err = capsys.readouterr().err
    assert "unknown origin region 'mars-1'" in err and REGIONS[0] in err
