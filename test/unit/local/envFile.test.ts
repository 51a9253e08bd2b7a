import { formatEnvFile, parseEnvFile, quoteEnvValue } from "@compacter/local";
import { describe, expect, it } from "vitest";

describe("env files", () => {
  const env = {
    AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
    COMPACTER_RAW_PREFIX: "",
    COMPACTER_RAW_BUCKET: "my raw $bucket",
    ODD: "it's `odd`",
  };

  it("round-trips through parseEnvFile, comments included", () => {
    const text = formatEnvFile(env, "line one\nline two");
    expect(text.startsWith("# line one\n# line two\n")).toBe(true);
    expect(parseEnvFile(text)).toEqual(env);
  });

  it("leaves URLs bare and single-quotes anything a shell would expand", () => {
    expect(quoteEnvValue("http://127.0.0.1:4566/000000000000/q")).toBe(
      "http://127.0.0.1:4566/000000000000/q",
    );
    expect(quoteEnvValue("a $b")).toBe("'a $b'");
    expect(quoteEnvValue("it's")).toBe(`'it'\\''s'`);
  });
});
