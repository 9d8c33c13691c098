"""The world the geo benchmark runs in: internet users per country and measured RTTs.

Both tables are small, committed and approximate; nothing is downloaded at run time.

``INTERNET_USERS_M`` — internet users per country, millions, rounded. Source: ITU World
Telecommunication/ICT Indicators database, "Individuals using the Internet" (percentage of
population), 2022 estimates, as republished by the World Bank (indicator IT.NET.USER.ZS),
multiplied by the World Bank's 2022 population (SP.POP.TOTL). Values were rounded by hand and
are accurate to about ±10 %; the 151 countries listed hold ~5.07 bn of the world's ~5.3 bn
internet users (ITU, "Facts and Figures 2022"). Countries not listed weigh nothing, which
only matters for the planner if your own mix names them (it then uses your weights).

``CALIBRATION_RTT_MS`` — mean round-trip times between ten AWS regions, ms, as published in
the table "Latency Between AWS Global Regions" (FROM/TO, average latency in ms), reproduced at
https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html (April 2017). It is
the one full inter-region matrix we could check offline, so it is old: some long paths have
been rerouted since (Frankfurt–Singapore then took 326 ms, over a detour), which the fit
reports as its largest errors rather than hiding them. Three of its regions are not Momento
regions (us-west-1, ap-northeast-2, sa-east-1): they only calibrate, placed at their AWS
cities in ``CALIBRATION_POINTS``. The pairs calibrate the fibre-path factor and fixed
overhead of ``model.rtt_ms``; ``python -m benchmarks.geo.model`` prints the fit and its error.
"""

from __future__ import annotations

__all__ = ["CALIBRATION_POINTS", "CALIBRATION_RTT_MS", "CALIBRATION_SOURCE", "INTERNET_USERS_M", "USERS_SOURCE"]

USERS_SOURCE = "ITU ICT Indicators 2022 (World Bank IT.NET.USER.ZS x SP.POP.TOTL), rounded, +-10 %"
CALIBRATION_SOURCE = "\"Latency Between AWS Global Regions\" table, mean RTT, 2017 (acomputerscientistlearnsaws.blogspot.com)"

# AWS regions in the calibration table that are not Momento regions: (lat, lon) of their cities.
CALIBRATION_POINTS: dict[str, tuple[float, float]] = {
    "us-west-1": (37.77, -122.42),  # San Francisco Bay Area (N. California)
    "ap-northeast-2": (37.57, 126.98),  # Seoul
    "sa-east-1": (-23.55, -46.63),  # São Paulo
}

INTERNET_USERS_M: dict[str, float] = {
    # Asia
    "CN": 1050, "IN": 680, "ID": 210, "JP": 105, "PK": 90, "BD": 65, "PH": 80, "VN": 78,
    "TR": 72, "IR": 70, "TH": 60, "KR": 50, "MY": 31, "SA": 36, "IQ": 31, "UZ": 27,
    "MM": 24, "TW": 21, "KZ": 18, "NP": 15, "AF": 7, "LK": 11, "KH": 10, "AE": 9.5,
    "IL": 8.5, "JO": 8.8, "SY": 8, "YE": 6, "HK": 7, "SG": 5.5, "AZ": 8.5, "KW": 4.4,
    "OM": 4.5, "QA": 2.7, "LB": 4.8, "KG": 5.2, "TJ": 3.5, "MN": 2.8, "GE": 3.1, "AM": 2.4,
    "LA": 4.7, "BH": 1.5, "PS": 4.6, "TM": 1.3, "BT": 0.7, "MO": 0.6, "BN": 0.4, "MV": 0.4,
    # Europe (RU counted here, as Cloudflare's request.cf.continent does)
    "RU": 130, "DE": 77, "GB": 65, "FR": 60, "IT": 51, "ES": 45, "PL": 33, "UA": 30,
    "NL": 17, "RO": 17, "BE": 11, "CZ": 9.9, "SE": 10, "PT": 8.8, "GR": 8.8, "HU": 8.8,
    "AT": 8.2, "BY": 8.3, "CH": 8.4, "BG": 5.5, "RS": 5.8, "DK": 5.8, "FI": 5.3, "NO": 5.4,
    "SK": 5.0, "IE": 4.9, "HR": 3.3, "BA": 2.5, "LT": 2.5, "SI": 1.9, "LV": 1.7, "MD": 2.1,
    "AL": 2.3, "MK": 1.7, "EE": 1.2, "CY": 1.1, "LU": 0.6, "MT": 0.5, "IS": 0.4, "ME": 0.5,
    # Africa
    "NG": 120, "EG": 80, "ZA": 43, "DZ": 32, "MA": 33, "ET": 20, "KE": 22, "TZ": 20,
    "CD": 26, "GH": 21, "SD": 13, "AO": 13, "CI": 11, "CM": 12, "UG": 11, "SN": 10,
    "TN": 9.5, "MZ": 7, "MG": 6, "ZW": 5.4, "ZM": 4.6, "ML": 7, "BF": 5, "NE": 4,
    "RW": 3.5, "BJ": 4, "LY": 6, "SO": 3, "TG": 2.6, "GN": 3, "MW": 4, "NA": 1.7,
    "BW": 1.9, "MU": 0.9,
    # North America (Central America and the Caribbean included, as request.cf.continent has it)
    "US": 310, "MX": 100, "CA": 37, "GT": 9, "DO": 9, "CU": 8, "HN": 5, "SV": 4,
    "NI": 4, "CR": 4.5, "PA": 3.2, "HT": 4, "JM": 2.3, "PR": 2.8, "TT": 1.2,
    # South America
    "BR": 180, "AR": 40, "CO": 38, "PE": 25, "VE": 20, "CL": 17, "EC": 13, "BO": 8,
    "PY": 5.6, "UY": 3.1,
    # Oceania
    "AU": 25, "NZ": 4.8, "PG": 3.5, "FJ": 0.8,
}

# (from, to) -> mean RTT ms, the upper triangle of the published 10 x 10 table (row = "from").
# The table's two directions agree within 3 ms everywhere; its South America row was cut off
# in the stored copy, so the sa-east-1 pairs are its column.
CALIBRATION_RTT_MS: dict[tuple[str, str], float] = {
    ("us-east-1", "us-west-1"): 72.74,
    ("us-east-1", "us-west-2"): 86.98,
    ("us-east-1", "eu-west-1"): 80.55,
    ("us-east-1", "eu-central-1"): 88.66,
    ("us-east-1", "ap-northeast-1"): 145.3,
    ("us-east-1", "ap-northeast-2"): 178.4,
    ("us-east-1", "ap-southeast-1"): 216.7,
    ("us-east-1", "ap-southeast-2"): 230,
    ("us-east-1", "sa-east-1"): 119.5,
    ("us-west-1", "us-west-2"): 19.46,
    ("us-west-1", "eu-west-1"): 153.2,
    ("us-west-1", "eu-central-1"): 166.6,
    ("us-west-1", "ap-northeast-1"): 102.5,
    ("us-west-1", "ap-northeast-2"): 131.5,
    ("us-west-1", "ap-southeast-1"): 174,
    ("us-west-1", "ap-southeast-2"): 157.5,
    ("us-west-1", "sa-east-1"): 192.7,
    ("us-west-2", "eu-west-1"): 137,
    ("us-west-2", "eu-central-1"): 159.5,
    ("us-west-2", "ap-northeast-1"): 89.1,
    ("us-west-2", "ap-northeast-2"): 118.3,
    ("us-west-2", "ap-southeast-1"): 161.4,
    ("us-west-2", "ap-southeast-2"): 162.2,
    ("us-west-2", "sa-east-1"): 182.7,
    ("eu-west-1", "eu-central-1"): 19.56,
    ("eu-west-1", "ap-northeast-1"): 212.4,
    ("eu-west-1", "ap-northeast-2"): 242.4,
    ("eu-west-1", "ap-southeast-1"): 239,
    ("eu-west-1", "ap-southeast-2"): 309.6,
    ("eu-west-1", "sa-east-1"): 191.3,
    ("eu-central-1", "ap-northeast-1"): 236.5,
    ("eu-central-1", "ap-northeast-2"): 266.2,
    ("eu-central-1", "ap-southeast-1"): 325.9,
    ("eu-central-1", "ap-southeast-2"): 323.5,
    ("eu-central-1", "sa-east-1"): 194.9,
    ("ap-northeast-1", "ap-northeast-2"): 31.44,
    ("ap-northeast-1", "ap-southeast-1"): 73.79,
    ("ap-northeast-1", "ap-southeast-2"): 103.9,
    ("ap-northeast-1", "sa-east-1"): 256.8,
    ("ap-northeast-2", "ap-southeast-1"): 71.87,
    ("ap-northeast-2", "ap-southeast-2"): 134,
    ("ap-northeast-2", "sa-east-1"): 286.3,
    ("ap-southeast-1", "ap-southeast-2"): 175.3,
    ("ap-southeast-1", "sa-east-1"): 328.1,
    ("ap-southeast-2", "sa-east-1"): 322.5,
}
