"""The world the geo benchmark runs in: internet users per country and measured RTTs.

Both tables are small, committed and approximate; nothing is downloaded at run time.

``INTERNET_USERS_M`` — internet users per country, millions, rounded. Source: ITU World
Telecommunication/ICT Indicators database, "Individuals using the Internet" (percentage of
population), 2022 estimates, as republished by the World Bank (indicator IT.NET.USER.ZS),
multiplied by the World Bank's 2022 population (SP.POP.TOTL). Values were rounded by hand and
are accurate to about ±10 %; the 151 countries listed hold ~5.07 bn of the world's ~5.3 bn
internet users (ITU, "Facts and Figures 2022"). Countries not listed weigh nothing, which
only matters for the planner if your own mix names them (it then uses your weights).

``CALIBRATION_RTT_MS`` — median round-trip times between AWS regions, ms, from the public
inter-region latency matrix at https://www.cloudping.co (AWS inter-region latency, p50 over
one year, read 2024), rounded to whole ms. They calibrate the fibre-path factor and fixed
overhead of ``model.rtt_ms``; ``python -m benchmarks.geo.model`` prints the fit and its error.
"""

from __future__ import annotations

__all__ = ["CALIBRATION_RTT_MS", "CALIBRATION_SOURCE", "INTERNET_USERS_M", "USERS_SOURCE"]

USERS_SOURCE = "ITU ICT Indicators 2022 (World Bank IT.NET.USER.ZS x SP.POP.TOTL), rounded, +-10 %"
CALIBRATION_SOURCE = "cloudping.co AWS inter-region latency, p50 over 1 year (read 2024), rounded"

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

# (region, region) -> p50 RTT ms. Pairs chosen to span short (same continent) to
# antipodal-ish paths, including ones that detour (Europe-Asia, South America).
CALIBRATION_RTT_MS: dict[tuple[str, str], float] = {
    ("us-east-1", "us-east-2"): 13,
    ("us-east-1", "us-west-2"): 67,
    ("us-east-2", "us-west-2"): 50,
    ("us-east-1", "eu-west-1"): 68,
    ("us-east-1", "eu-west-2"): 76,
    ("us-east-1", "eu-central-1"): 90,
    ("us-east-1", "eu-north-1"): 111,
    ("us-west-2", "eu-central-1"): 147,
    ("eu-west-1", "eu-west-2"): 11,
    ("eu-west-1", "eu-central-1"): 25,
    ("eu-west-2", "eu-central-1"): 15,
    ("eu-central-1", "eu-north-1"): 22,
    ("us-east-1", "ap-northeast-1"): 147,
    ("us-west-2", "ap-northeast-1"): 98,
    ("us-west-2", "ap-southeast-2"): 139,
    ("us-east-1", "ap-southeast-2"): 197,
    ("eu-central-1", "ap-northeast-1"): 226,
    ("eu-central-1", "ap-south-1"): 121,
    ("eu-west-1", "ap-southeast-1"): 170,
    ("ap-northeast-1", "ap-southeast-1"): 69,
    ("ap-northeast-1", "ap-southeast-2"): 105,
    ("ap-southeast-1", "ap-southeast-2"): 93,
    ("ap-south-1", "ap-southeast-1"): 57,
    ("ap-south-1", "ap-northeast-1"): 127,
}
