// `request.cf` for local requests, and the X-Edge-Country override.
//
// On Cloudflare, `request.cf` describes where the visitor is (country, continent, coordinates,
// the colo that served them). `wrangler dev` fills it from a cached cf.json or a placeholder;
// here it comes from --cf-* flags (default: Ashburn, US, the IAD colo).
//
// A regional cache is only testable if a request can pretend to come from elsewhere, so a
// Worker whose env has ALLOW_COUNTRY_OVERRIDE=true ("1", "yes", "on" too, as the project's
// config reads it) may send `X-Edge-Country: JP`: cf.country becomes JP and continent/latitude/
// longitude come from that country's point in the region data (COUNTRY_POINTS). City, region,
// region and time zone are dropped then, since they belonged to the default location.
// Without region data only cf.country changes and the coordinates are dropped.

const OVERRIDE_HEADER = "x-edge-country";
const TRUE_VALUES = new Set(["1", "true", "yes", "on"]);
const LOCATION_ONLY_KEYS = ["city", "region", "regionCode", "metroCode", "postalCode", "timezone"];

/** The default cf object for every request, from the --cf-* flags. */
export function baseCf(defaults) {
  return {
    asn: 395747,
    asOrganization: "Local Runner",
    colo: defaults.colo,
    country: defaults.country,
    continent: defaults.continent,
    city: defaults.city,
    timezone: defaults.timezone,
    latitude: defaults.latitude,
    longitude: defaults.longitude,
    clientTcpRtt: 0,
    httpProtocol: "HTTP/1.1",
    tlsVersion: "TLSv1.3",
    tlsCipher: "AEAD-AES128-GCM-SHA256",
    requestPriority: "",
    edgeRequestKeepAliveStatus: 1,
  };
}

export function overrideAllowed(env) {
  return TRUE_VALUES.has(String(env.ALLOW_COUNTRY_OVERRIDE ?? "").trim().toLowerCase());
}

/**
 * cf for one request. Returns {cf, note}: note says what the override did (for the log), or is
 * null when no override applied.
 */
export function requestCf(base, headers, { allowOverride, countryPoints }) {
  const cf = { ...base };
  const asked = headers.get(OVERRIDE_HEADER);
  if (asked === null || asked === "") return { cf, note: null };
  if (!allowOverride) return { cf, note: `${OVERRIDE_HEADER} ignored (ALLOW_COUNTRY_OVERRIDE is off)` };
  const country = asked.trim().toUpperCase();
  if (!/^[A-Z][A-Z0-9]$/.test(country)) {
    return { cf, note: `${OVERRIDE_HEADER} ${JSON.stringify(asked)} ignored (not a 2-letter country code)` };
  }
  cf.country = country;
  for (const key of LOCATION_ONLY_KEYS) delete cf[key];
  const point = countryPoints?.[country];
  if (point) {
    const [continent, latitude, longitude] = point;
    if (continent) cf.continent = continent;
    else delete cf.continent;
    cf.latitude = latitude;
    cf.longitude = longitude;
    return { cf, note: `cf.country=${country} (${cf.latitude},${cf.longitude})` };
  }
  delete cf.continent;
  delete cf.latitude;
  delete cf.longitude;
  const why = countryPoints ? "not in COUNTRY_POINTS" : "no region data";
  return { cf, note: `cf.country=${country}, no coordinates (${why})` };
}
