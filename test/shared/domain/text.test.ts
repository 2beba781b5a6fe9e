import { describe, expect, it } from "vitest";
import { clip, guideText, optionLabel, plainText } from "../../../shared/domain/text";

describe("text from outside", () => {
  it("is one line, without control or invisible formatting characters", () => {
    expect(plainText("  Ada\r\n\n\tLove\u0000lace\u202E \u200B ", 100)).toBe("Ada Lovelace");
    expect(plainText(undefined, 10)).toBe("");
  });

  it("is cut at a length without splitting a character", () => {
    expect(clip("abcdef", 4)).toBe("abc…");
    expect(clip("😀😀😀😀😀", 3)).toBe("😀😀…");
    expect(optionLabel("x".repeat(300))).toHaveLength(100);
  });

  it("in the guide, writes every HTML and Markdown special as a character reference", () => {
    expect(guideText("[a](b) ![c](d) *e* _f_ # `g` <h> & 'i' \"j\" k@l.m https://n")).toBe(
      "&#91;a&#93;&#40;b&#41; &#33;&#91;c&#93;&#40;d&#41; &#42;e&#42; &#95;f&#95; &#35; &#96;g&#96; &#60;h&#62; &#38; &#39;i&#39; &#34;j&#34; k&#64;l&#46;m https&#58;//n",
    );
    expect(guideText("Ada Lovelace")).toBe("Ada Lovelace");
  });
});
