/**
 * Which currency a Space works in, from its metadata: `currency`, else a locale's region, else
 * `country`, else a bare locale's likely region, else USD; decimals from Intl. Pure; never throws.
 * The precedence in full: docs/design.md#the-currency.
 */

export interface CurrencyChoice {
  /** ISO 4217, upper case. */
  code: string;
  /** Digits after the decimal point, from CLDR via Intl. */
  decimals: number;
  /** A BCP 47 locale to format amounts with (the Space's locale when it had a valid one). */
  locale: string;
  source: "metadata.currency" | "metadata.locale" | "metadata.country" | "default";
  /** What was given but not understood (`"EURO" is not a currency code`), so a person can fix it. */
  notUnderstood?: string[];
}

export const DEFAULT_CURRENCY = "USD";
export const DEFAULT_LOCALE = "en-US";

/**
 * Region (ISO 3166-1 alpha-2) → currency (ISO 4217). Intl has no region → currency API, so this
 * compact table covers the euro area (and the places that use the euro), the G20, the Gulf and
 * the other three-decimal currencies, and the larger economies elsewhere. Extend as needed.
 */
const CURRENCY_REGIONS: Record<string, string> = {
  // The euro: euro-area members, then the places that use the euro by agreement or de facto.
  EUR: "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK AD MC SM VA ME XK AX BL GF GP MF MQ PM RE YT",
  USD: "US AS EC GU MH MP PR PW SV TC TL UM VG VI BQ FM",
  // G20 (besides the euro area and the US).
  ARS: "AR",
  AUD: "AU CX CC NF NR KI TV",
  BRL: "BR",
  CAD: "CA",
  CNY: "CN",
  INR: "IN BT",
  IDR: "ID",
  JPY: "JP",
  KRW: "KR",
  MXN: "MX",
  RUB: "RU",
  SAR: "SA",
  ZAR: "ZA LS NA",
  TRY: "TR",
  GBP: "GB GG IM JE",
  // Three-decimal currencies and the rest of the Gulf.
  BHD: "BH",
  KWD: "KW",
  OMR: "OM",
  JOD: "JO",
  IQD: "IQ",
  LYD: "LY",
  TND: "TN",
  AED: "AE",
  QAR: "QA",
  // Europe outside the euro.
  CHF: "CH LI",
  NOK: "NO SJ BV",
  SEK: "SE",
  DKK: "DK FO GL",
  ISK: "IS",
  PLN: "PL",
  CZK: "CZ",
  HUF: "HU",
  RON: "RO",
  BGN: "BG",
  RSD: "RS",
  BAM: "BA",
  MKD: "MK",
  ALL: "AL",
  MDL: "MD",
  UAH: "UA",
  BYN: "BY",
  GEL: "GE",
  AMD: "AM",
  AZN: "AZ",
  GIP: "GI",
  // Middle East, Africa.
  ILS: "IL PS",
  EGP: "EG",
  MAD: "MA EH",
  DZD: "DZ",
  LBP: "LB",
  SYP: "SY",
  IRR: "IR",
  YER: "YE",
  NGN: "NG",
  KES: "KE",
  GHS: "GH",
  ETB: "ET",
  TZS: "TZ",
  UGX: "UG",
  RWF: "RW",
  ZMW: "ZM",
  MUR: "MU",
  BWP: "BW",
  AOA: "AO",
  MZN: "MZ",
  SDG: "SD",
  XOF: "BJ BF CI GW ML NE SN TG",
  XAF: "CM CF TD CG GQ GA",
  // Asia, Oceania.
  SGD: "SG",
  HKD: "HK",
  MOP: "MO",
  TWD: "TW",
  THB: "TH",
  MYR: "MY",
  PHP: "PH",
  VND: "VN",
  PKR: "PK",
  BDT: "BD",
  LKR: "LK",
  NPR: "NP",
  KZT: "KZ",
  UZS: "UZ",
  MNT: "MN",
  KHR: "KH",
  LAK: "LA",
  MMK: "MM",
  NZD: "NZ CK NU PN TK",
  FJD: "FJ",
  PGK: "PG",
  BND: "BN",
  // The Americas.
  CLP: "CL",
  COP: "CO",
  PEN: "PE",
  UYU: "UY",
  PYG: "PY",
  BOB: "BO",
  VES: "VE",
  CRC: "CR",
  GTQ: "GT",
  HNL: "HN",
  NIO: "NI",
  DOP: "DO",
  JMD: "JM",
  TTD: "TT",
  BSD: "BS",
  BBD: "BB",
  PAB: "PA",
  XCD: "AG DM GD KN LC VC AI MS",
};

const REGION_TO_CURRENCY: ReadonlyMap<string, string> = new Map(
  Object.entries(CURRENCY_REGIONS).flatMap(([code, regions]) =>
    regions
      .split(" ")
      .filter(Boolean)
      .map((region) => [region, code] as const),
  ),
);

let knownCurrencies: ReadonlySet<string> | undefined;
function isKnownCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  knownCurrencies ??= new Set(Intl.supportedValuesOf("currency"));
  return knownCurrencies.has(code);
}

/** The currency for an ISO 3166-1 alpha-2 region, if the table knows it. */
export function currencyOfRegion(region: string | undefined): string | undefined {
  if (!region) return undefined;
  return REGION_TO_CURRENCY.get(region.toUpperCase());
}

/** Digits after the decimal point for a currency, from Intl. */
export function decimalsOf(code: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

function parseLocale(value: unknown): Intl.Locale | undefined {
  if (typeof value !== "string") return undefined;
  const tag = value.trim().replace(/_/g, "-");
  if (!tag || tag.length > 100) return undefined;
  try {
    return new Intl.Locale(tag);
  } catch {
    return undefined;
  }
}

function likelyRegion(locale: Intl.Locale): string | undefined {
  try {
    return locale.maximize().region;
  } catch {
    return undefined;
  }
}

function asRegion(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const region = value.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(region) ? region : undefined;
}

/** A locale for a region alone: its likely language (`JP` → `ja-JP`), else English there. */
function localeForRegion(region: string): string {
  let language: string | undefined;
  try {
    language = new Intl.Locale(`und-${region}`).maximize().language;
  } catch {
    language = undefined;
  }
  return language && language !== "und" ? `${language}-${region}` : `en-${region}`;
}

function choice(code: string, locale: string, source: CurrencyChoice["source"], notUnderstood: string[] = []): CurrencyChoice {
  return { code, decimals: decimalsOf(code), locale, source, ...(notUnderstood.length ? { notUnderstood } : {}) };
}

/** A value from the metadata as a person would recognise it, short and on one line. */
function shown(value: unknown): string {
  const text = typeof value === "string" ? value.trim() : JSON.stringify(value);
  return `"${(text ?? String(value)).replace(/\s+/g, " ").slice(0, 40)}"`;
}

/** The settings given that could not be used, each in a few words. */
function notUnderstoodIn(meta: Record<string, unknown>, locale: Intl.Locale | undefined, country: string | undefined): string[] {
  const given = (value: unknown) => value !== undefined && value !== null && value !== "";
  const notes: string[] = [];
  if (given(meta.currency)) {
    const code = typeof meta.currency === "string" ? meta.currency.trim().toUpperCase() : "";
    if (!isKnownCurrency(code)) notes.push(`${shown(meta.currency)} is not a currency code`);
  }
  if (given(meta.locale) && !locale) notes.push(`${shown(meta.locale)} is not a locale`);
  else if (locale?.region && !currencyOfRegion(locale.region)) notes.push(`no currency is known for the locale ${shown(meta.locale)}`);
  if (given(meta.country) && !currencyOfRegion(country)) notes.push(`${shown(meta.country)} is not a country code with a known currency`);
  return notes;
}

export function resolveCurrency(metadata: Record<string, unknown> | undefined): CurrencyChoice {
  const meta: Record<string, unknown> = typeof metadata === "object" && metadata !== null ? metadata : {};
  const locale = parseLocale(meta.locale);
  const country = asRegion(meta.country);
  // A locale Intl cannot format with (`xx-invalid`) is not used for formatting.
  const localeTag = locale && Intl.NumberFormat.supportedLocalesOf(locale.toString()).length > 0 ? locale.toString() : undefined;
  const formatLocale = localeTag ?? (country ? localeForRegion(country) : DEFAULT_LOCALE);

  const notes = notUnderstoodIn(meta, locale, country);
  const explicit = typeof meta.currency === "string" ? meta.currency.trim().toUpperCase() : undefined;
  if (explicit && isKnownCurrency(explicit)) return choice(explicit, formatLocale, "metadata.currency", notes);

  const fromLocaleRegion = currencyOfRegion(locale?.region);
  if (fromLocaleRegion && locale) return choice(fromLocaleRegion, localeTag ?? DEFAULT_LOCALE, "metadata.locale", notes);

  const fromCountry = currencyOfRegion(country);
  if (fromCountry) return choice(fromCountry, formatLocale, "metadata.country", notes);

  if (locale && !locale.region) {
    const fromLikely = currencyOfRegion(likelyRegion(locale));
    if (fromLikely) return choice(fromLikely, localeTag ?? DEFAULT_LOCALE, "metadata.locale", notes);
  }

  return choice(DEFAULT_CURRENCY, localeTag ?? DEFAULT_LOCALE, "default", notes);
}
