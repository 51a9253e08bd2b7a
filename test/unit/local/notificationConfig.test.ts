import {
  InvalidNotificationConfigurationError,
  matchesKey,
  parseNotificationConfiguration,
  type QueueConfiguration,
  serializeNotificationConfiguration,
  subscribesTo,
  validateQueueConfigurations,
} from "@compacter/local";
import { describe, expect, it } from "vitest";

const ARN = "arn:aws:sqs:us-east-1:000000000000:q";
const queue = (partial: Partial<QueueConfiguration> = {}): QueueConfiguration => ({
  id: "id",
  queueArn: ARN,
  events: ["s3:ObjectCreated:*"],
  filterRules: [],
  ...partial,
});

describe("parseNotificationConfiguration", () => {
  it("reads what the SDK and the aws CLI send", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
      <NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
        <QueueConfiguration>
          <Id>raw &amp; more</Id>
          <Queue>${ARN}</Queue>
          <Event>s3:ObjectCreated:*</Event>
          <Event>s3:ObjectRemoved:Delete</Event>
          <Filter><S3Key>
            <FilterRule><Name>prefix</Name><Value>raw/ a&lt;b</Value></FilterRule>
            <FilterRule><Name>Suffix</Name><Value>.txt.gz</Value></FilterRule>
          </S3Key></Filter>
        </QueueConfiguration>
        <QueueConfiguration><Queue>${ARN}2</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>
      </NotificationConfiguration>`;
    const parsed = parseNotificationConfiguration(xml, () => "generated");
    expect(parsed).toEqual({
      unsupported: [],
      queues: [
        {
          id: "raw & more",
          queueArn: ARN,
          events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"],
          filterRules: [
            { name: "Prefix", value: "raw/ a<b" },
            { name: "Suffix", value: ".txt.gz" },
          ],
        },
        { id: "generated", queueArn: `${ARN}2`, events: ["s3:ObjectRemoved:*"], filterRules: [] },
      ],
    });
    expect(
      parseNotificationConfiguration(serializeNotificationConfiguration(parsed.queues), () => "x"),
    ).toEqual(parsed);
  });

  it("lists destinations the local stack cannot deliver to", () => {
    const xml =
      "<NotificationConfiguration><TopicConfiguration><Topic>t</Topic></TopicConfiguration></NotificationConfiguration>";
    expect(parseNotificationConfiguration(xml, () => "x").unsupported).toEqual(["TopicConfiguration"]);
  });

  it("refuses a filter rule that is neither prefix nor suffix", () => {
    const xml = `<QueueConfiguration><Queue>${ARN}</Queue><Filter><S3Key><FilterRule><Name>infix</Name><Value>a</Value></FilterRule></S3Key></Filter></QueueConfiguration>`;
    expect(() => parseNotificationConfiguration(xml, () => "x")).toThrow(
      InvalidNotificationConfigurationError,
    );
  });
});

describe("subscribesTo", () => {
  it("matches exact names and the type's wildcard only", () => {
    expect(
      subscribesTo(queue({ events: ["s3:ObjectCreated:*"] }), "ObjectCreated:CompleteMultipartUpload"),
    ).toBe(true);
    expect(subscribesTo(queue({ events: ["s3:ObjectCreated:Put"] }), "ObjectCreated:Put")).toBe(true);
    expect(subscribesTo(queue({ events: ["s3:ObjectCreated:Put"] }), "ObjectCreated:Copy")).toBe(false);
    expect(subscribesTo(queue({ events: ["s3:ObjectCreated:*"] }), "ObjectRemoved:Delete")).toBe(false);
  });
});

describe("matchesKey", () => {
  const filtered = queue({
    filterRules: [
      { name: "Prefix", value: "raw/" },
      { name: "Suffix", value: ".txt.gz" },
    ],
  });
  it.each([
    ["raw/a.txt.gz", true],
    ["raw/a.parquet", false],
    ["lake/raw/a.txt.gz", false],
    ["raw/.txt.gz", true],
  ])("%s → %s", (key, expected) => {
    expect(matchesKey(filtered, key)).toBe(expected);
  });

  it("compares a percent-encoded value in its decoded form", () => {
    expect(matchesKey(queue({ filterRules: [{ name: "Prefix", value: "a%20b/" }] }), "a b/c")).toBe(true);
  });
});

describe("validateQueueConfigurations", () => {
  it("accepts disjoint prefixes for the same events", () => {
    expect(() =>
      validateQueueConfigurations([
        queue({ id: "a", filterRules: [{ name: "Prefix", value: "a/" }] }),
        queue({ id: "b", filterRules: [{ name: "Prefix", value: "b/" }] }),
      ]),
    ).not.toThrow();
  });

  it("accepts overlapping filters for different event types", () => {
    expect(() =>
      validateQueueConfigurations([
        queue({ id: "a", events: ["s3:ObjectCreated:*"] }),
        queue({ id: "b", events: ["s3:ObjectRemoved:*"] }),
      ]),
    ).not.toThrow();
  });

  it.each([
    [
      "overlapping configurations",
      [queue({ id: "a" }), queue({ id: "b", events: ["s3:ObjectCreated:Put"] })],
    ],
    ["duplicate ids", [queue({ events: ["s3:ObjectCreated:*"] }), queue({ events: ["s3:ObjectRemoved:*"] })]],
    ["an unknown event", [queue({ events: ["s3:ObjectCreated:Pot"] })]],
    ["no event", [queue({ events: [] })]],
    ["a topic ARN", [queue({ queueArn: "arn:aws:sns:us-east-1:1:t" })]],
    [
      "two prefix rules",
      [
        queue({
          filterRules: [
            { name: "Prefix", value: "a" },
            { name: "Prefix", value: "b" },
          ],
        }),
      ],
    ],
  ])("refuses %s", (_, configs) => {
    expect(() => validateQueueConfigurations(configs)).toThrow(InvalidNotificationConfigurationError);
  });
});
