/**
 * List prices (us-east-1, on-demand, 2026; docs/deploy.md "Cost estimate") per request or
 * unit, and which price each counted `service:Operation` falls under.
 */
export const PRICES = {
  s3Put: { label: "S3 PUT, COPY, POST, LIST", perUnit: 0.005 / 1000 },
  s3Get: { label: "S3 GET, HEAD", perUnit: 0.0004 / 1000 },
  s3Free: { label: "S3 DELETE (free)", perUnit: 0 },
  sqs: { label: "SQS requests", perUnit: 0.4 / 1_000_000 },
  dynamoWrite: { label: "DynamoDB write request units", perUnit: 0.625 / 1_000_000 },
  dynamoRead: { label: "DynamoDB read request units", perUnit: 0.125 / 1_000_000 },
} as const;

export type PriceClass = keyof typeof PRICES;

/** The price class of one counted request (`service:Operation`). */
export function priceClassOf(operation: string): PriceClass {
  const [service = "", name = ""] = operation.split(":");
  if (service === "s3") {
    if (/^(Get|Head)/.test(name)) return "s3Get";
    if (/^Delete/.test(name)) return "s3Free";
    return "s3Put";
  }
  if (service === "sqs") return "sqs";
  if (/^(Get|Query|Scan|BatchGet|Describe)/.test(name)) return "dynamoRead";
  return "dynamoWrite";
}

/** S3 DELETEs cost nothing; every other request is billed. */
export function isBillable(operation: string): boolean {
  return priceClassOf(operation) !== "s3Free";
}
