import { describe, expect, it } from "vitest";
import { currencyOfRegion, resolveCurrency } from "../../../shared/domain/currency";

describe("resolveCurrency", () => {
  it.each([
    [{ locale: "de-DE" }, "EUR", 2, "metadata.locale"],
    [{ locale: "en-US" }, "USD", 2, "metadata.locale"],
    [{ locale: "ja-JP" }, "JPY", 0, "metadata.locale"],
    [{ locale: "fr-CA" }, "CAD", 2, "metadata.locale"],
    [{ locale: "de_AT" }, "EUR", 2, "metadata.locale"],
    [{ locale: "de" }, "EUR", 2, "metadata.locale"],
    [{ locale: "ar-BH" }, "BHD", 3, "metadata.locale"],
    [{ locale: "xx-invalid" }, "USD", 2, "default"],
    [{ locale: "not a locale!!" }, "USD", 2, "default"],
    [{ locale: 42 }, "USD", 2, "default"],
    [{ currency: "bhd" }, "BHD", 3, "metadata.currency"],
    [{ currency: " kwd ", locale: "en-US" }, "KWD", 3, "metadata.currency"],
    [{ currency: "XYZ", locale: "de-CH" }, "CHF", 2, "metadata.locale"],
    [{ currency: "euro", country: "FR" }, "EUR", 2, "metadata.country"],
    [{ country: "JP" }, "JPY", 0, "metadata.country"],
    [{ country: "om" }, "OMR", 3, "metadata.country"],
    [{ country: "ZZ" }, "USD", 2, "default"],
    [{ locale: "en", country: "DE" }, "EUR", 2, "metadata.country"],
    [{ locale: "en-US", country: "DE" }, "USD", 2, "metadata.locale"],
    [{}, "USD", 2, "default"],
    [undefined, "USD", 2, "default"],
  ] as const)("%j → %s/%d (%s)", (metadata, code, decimals, source) => {
    const choice = resolveCurrency(metadata as Record<string, unknown> | undefined);
    expect(choice).toMatchObject({ code, decimals, source });
    expect(() => new Intl.NumberFormat(choice.locale)).not.toThrow();
  });

  it("keeps a usable locale and derives one for a country", () => {
    expect(resolveCurrency({ locale: "de-DE" }).locale).toBe("de-DE");
    expect(resolveCurrency({ country: "JP" }).locale).toBe("ja-JP");
    expect(resolveCurrency({ locale: "xx-invalid" }).locale).toBe("en-US");
  });

  it("covers the euro area and the G20", () => {
    for (const r of "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split(" ")) expect(currencyOfRegion(r)).toBe("EUR");
    const g20: Record<string, string> = {
      AR: "ARS",
      AU: "AUD",
      BR: "BRL",
      CA: "CAD",
      CN: "CNY",
      IN: "INR",
      ID: "IDR",
      JP: "JPY",
      KR: "KRW",
      MX: "MXN",
      RU: "RUB",
      SA: "SAR",
      ZA: "ZAR",
      TR: "TRY",
      GB: "GBP",
      US: "USD",
    };
    for (const [r, c] of Object.entries(g20)) expect(currencyOfRegion(r)).toBe(c);
    for (const [r, c] of Object.entries({ BH: "BHD", KW: "KWD", OM: "OMR", JO: "JOD" })) expect(currencyOfRegion(r)).toBe(c);
  });

  it("never throws on garbage", () => {
    for (const m of [{ locale: "" }, { locale: "x".repeat(10_000) }, { currency: null, country: {}, locale: [] }, null]) {
      expect(resolveCurrency(m as never).code).toBe("USD");
    }
  });

  it("names what was given but not understood, whatever decides the currency", () => {
    expect(resolveCurrency({ currency: "EURO" })).toMatchObject({
      code: "USD",
      source: "default",
      notUnderstood: ['"EURO" is not a currency code'],
    });
    expect(resolveCurrency({ currency: "EURO", locale: "fr-FR" })).toMatchObject({
      code: "EUR",
      source: "metadata.locale",
      notUnderstood: ['"EURO" is not a currency code'],
    });
    expect(resolveCurrency({ locale: "not a locale!", country: "ZZ" }).notUnderstood).toEqual([
      '"not a locale!" is not a locale',
      '"ZZ" is not a country code with a known currency',
    ]);
    expect(resolveCurrency({ locale: "de-DE", currency: "chf" }).notUnderstood).toBeUndefined();
    expect(resolveCurrency({}).notUnderstood).toBeUndefined();
  });
});
