import { resolveS3ForcePathStyle } from "@compacter/aws";
import { ConfigError } from "@compacter/core";
import { describe, expect, it } from "vitest";

describe("resolveS3ForcePathStyle", () => {
  it("is off against AWS itself", () => {
    expect(resolveS3ForcePathStyle({})).toBe(false);
  });

  it.each([
    [{ AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }],
    [{ AWS_ENDPOINT_URL_S3: "http://127.0.0.1:4566" }],
  ])("is on when the environment overrides the S3 endpoint (%o)", (env) => {
    expect(resolveS3ForcePathStyle(env)).toBe(true);
  });

  it("is on for an explicit endpoint", () => {
    expect(resolveS3ForcePathStyle({}, "http://localhost:9000")).toBe(true);
  });

  it("ignores configured endpoints when the SDK is told to", () => {
    expect(
      resolveS3ForcePathStyle({ AWS_ENDPOINT_URL: "http://x", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" }),
    ).toBe(false);
  });

  it("lets COMPACTER_S3_FORCE_PATH_STYLE decide either way", () => {
    expect(resolveS3ForcePathStyle({ COMPACTER_S3_FORCE_PATH_STYLE: "true" })).toBe(true);
    expect(
      resolveS3ForcePathStyle(
        { COMPACTER_S3_FORCE_PATH_STYLE: "false", AWS_ENDPOINT_URL: "http://x" },
        "http://y",
      ),
    ).toBe(false);
  });

  it("rejects a value that is not a boolean", () => {
    expect(() => resolveS3ForcePathStyle({ COMPACTER_S3_FORCE_PATH_STYLE: "maybe" })).toThrow(ConfigError);
  });
});
