import type { S3EventName } from "./eventRecord.js";

/**
 * A bucket's notification configuration, as `PutBucketNotificationConfiguration` sends
 * it (XML) and `GetBucketNotificationConfiguration` returns it. Only queue destinations
 * are delivered locally; topic and Lambda destinations are refused with a clear error
 * rather than silently ignored.
 */
export interface FilterRule {
  readonly name: "Prefix" | "Suffix";
  /** As configured (AWS wants special characters percent-encoded there). */
  readonly value: string;
}

export interface QueueConfiguration {
  readonly id: string;
  readonly queueArn: string;
  readonly events: readonly string[];
  readonly filterRules: readonly FilterRule[];
}

/** Every event type S3 accepts in a configuration; the bridge emits four of them. */
export const SUPPORTED_S3_EVENTS: ReadonlySet<string> = new Set([
  "s3:ReducedRedundancyLostObject",
  "s3:ObjectCreated:*",
  "s3:ObjectCreated:Put",
  "s3:ObjectCreated:Post",
  "s3:ObjectCreated:Copy",
  "s3:ObjectCreated:CompleteMultipartUpload",
  "s3:ObjectRemoved:*",
  "s3:ObjectRemoved:Delete",
  "s3:ObjectRemoved:DeleteMarkerCreated",
  "s3:ObjectRestore:*",
  "s3:ObjectRestore:Post",
  "s3:ObjectRestore:Completed",
  "s3:ObjectRestore:Delete",
  "s3:Replication:*",
  "s3:Replication:OperationFailedReplication",
  "s3:Replication:OperationNotTracked",
  "s3:Replication:OperationMissedThreshold",
  "s3:Replication:OperationReplicatedAfterThreshold",
  "s3:LifecycleTransition",
  "s3:IntelligentTiering",
  "s3:ObjectTagging:*",
  "s3:ObjectTagging:Put",
  "s3:ObjectTagging:Delete",
  "s3:ObjectAcl:Put",
  "s3:LifecycleExpiration:*",
  "s3:LifecycleExpiration:Delete",
  "s3:LifecycleExpiration:DeleteMarkerCreated",
]);

/** A configuration S3 would refuse: the message and argument AWS reports. */
export class InvalidNotificationConfigurationError extends Error {
  constructor(
    message: string,
    readonly argumentName?: string,
    readonly argumentValue?: string,
  ) {
    super(message);
    this.name = "InvalidNotificationConfigurationError";
  }
}

export interface ParsedNotificationConfiguration {
  readonly queues: QueueConfiguration[];
  /** Destination kinds present that the local bridge cannot deliver to. */
  readonly unsupported: string[];
}

export function parseNotificationConfiguration(
  xml: string,
  newId: () => string,
): ParsedNotificationConfiguration {
  const unsupported = [
    "TopicConfiguration",
    "CloudFunctionConfiguration",
    "LambdaFunctionConfiguration",
  ].filter((tag) => new RegExp(`<${tag}[\\s>]`).test(xml));
  const queues = blocks(xml, "QueueConfiguration").map((block): QueueConfiguration => {
    const id = text(block, "Id");
    const filterRules = blocks(block, "FilterRule").map((rule) => {
      const name = text(rule, "Name") ?? "";
      const value = text(rule, "Value") ?? "";
      const normalised =
        name.toLowerCase() === "prefix" ? "Prefix" : name.toLowerCase() === "suffix" ? "Suffix" : "";
      if (!normalised) {
        throw new InvalidNotificationConfigurationError(
          "filter rule name must be either prefix or suffix",
          "FilterRule.Name",
          name,
        );
      }
      return { name: normalised, value } satisfies FilterRule;
    });
    return {
      id: id && id.length > 0 ? id : newId(),
      queueArn: text(block, "Queue") ?? "",
      events: blocks(block, "Event"),
      filterRules,
    };
  });
  return { queues, unsupported };
}

/** The checks S3 makes on a configuration before accepting it (destinations aside). */
export function validateQueueConfigurations(configs: readonly QueueConfiguration[]): void {
  const ids = new Set<string>();
  for (const config of configs) {
    if (ids.has(config.id)) {
      throw new InvalidNotificationConfigurationError("Configuration Ids must be unique", "Id", config.id);
    }
    ids.add(config.id);
    if (!/^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:[^:]+$/.test(config.queueArn)) {
      throw new InvalidNotificationConfigurationError(
        "The ARN could not be parsed",
        "Queue",
        config.queueArn,
      );
    }
    if (config.events.length === 0) {
      throw new InvalidNotificationConfigurationError("At least one event must be specified", "Event", "");
    }
    for (const event of config.events) {
      if (!SUPPORTED_S3_EVENTS.has(event)) {
        throw new InvalidNotificationConfigurationError(
          "The event is not supported for notifications",
          "Event",
          event,
        );
      }
    }
    for (const name of ["Prefix", "Suffix"] as const) {
      const rules = config.filterRules.filter((rule) => rule.name === name);
      if (rules.length > 1) {
        throw new InvalidNotificationConfigurationError(
          `Cannot specify more than one ${name.toLowerCase()} rule in a filter.`,
          "FilterRule",
          name,
        );
      }
      if (rules[0]?.value === "") {
        throw new InvalidNotificationConfigurationError("filter value cannot be empty", name, "");
      }
    }
  }
  for (const [i, a] of configs.entries()) {
    for (const b of configs.slice(i + 1)) {
      if (overlaps(a, b)) {
        throw new InvalidNotificationConfigurationError(
          "Configurations overlap. Configurations on the same bucket cannot share a common event type.",
          "Event",
          `${a.id}, ${b.id}`,
        );
      }
    }
  }
}

export function serializeNotificationConfiguration(configs: readonly QueueConfiguration[]): string {
  const queues = configs.map((config) => {
    const events = config.events.map((event) => `<Event>${escapeXml(event)}</Event>`).join("");
    const filter =
      config.filterRules.length === 0
        ? ""
        : `<Filter><S3Key>${config.filterRules
            .map(
              (rule) =>
                `<FilterRule><Name>${rule.name}</Name><Value>${escapeXml(rule.value)}</Value></FilterRule>`,
            )
            .join("")}</S3Key></Filter>`;
    return `<QueueConfiguration><Id>${escapeXml(config.id)}</Id><Queue>${escapeXml(config.queueArn)}</Queue>${events}${filter}</QueueConfiguration>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${queues.join("")}</NotificationConfiguration>`;
}

/** `s3:ObjectCreated:*` covers every `ObjectCreated:…`; otherwise names must match exactly. */
export function subscribesTo(config: QueueConfiguration, eventName: S3EventName): boolean {
  const full = `s3:${eventName}`;
  const wildcard = `${full.slice(0, full.lastIndexOf(":"))}:*`;
  return config.events.includes(full) || config.events.includes(wildcard);
}

/** Filter values are compared with the object key as stored (not its encoded form). */
export function matchesKey(config: QueueConfiguration, key: string): boolean {
  return config.filterRules.every((rule) => {
    const value = decodeFilterValue(rule.value);
    return rule.name === "Prefix" ? key.startsWith(value) : key.endsWith(value);
  });
}

/**
 * AWS asks for special characters in filter values to be percent-encoded; a value
 * written plainly decodes to itself.
 */
function decodeFilterValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function overlaps(a: QueueConfiguration, b: QueueConfiguration): boolean {
  const eventsOverlap = a.events.some((x) =>
    b.events.some(
      (y) =>
        x === y ||
        (x.endsWith(":*") && y.startsWith(x.slice(0, -1))) ||
        (y.endsWith(":*") && x.startsWith(y.slice(0, -1))),
    ),
  );
  if (!eventsOverlap) return false;
  const rule = (c: QueueConfiguration, name: FilterRule["name"]) =>
    decodeFilterValue(c.filterRules.find((r) => r.name === name)?.value ?? "");
  const [pa, pb] = [rule(a, "Prefix"), rule(b, "Prefix")];
  const [sa, sb] = [rule(a, "Suffix"), rule(b, "Suffix")];
  const prefixesOverlap = pa.startsWith(pb) || pb.startsWith(pa);
  const suffixesOverlap = sa.endsWith(sb) || sb.endsWith(sa);
  return prefixesOverlap && suffixesOverlap;
}

function blocks(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  return [...xml.matchAll(pattern)].map((match) => unescapeXml(match[1] ?? ""));
}

function text(xml: string, tag: string): string | undefined {
  return blocks(xml, tag)[0];
}

function escapeXml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

function unescapeXml(value: string): string {
  if (value.includes("<")) return value; // a container element; its leaves are unescaped on their own
  return value
    .replace(/&#x([0-9a-fA-F]+);/g, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'")
    .replaceAll("&amp;", "&");
}
