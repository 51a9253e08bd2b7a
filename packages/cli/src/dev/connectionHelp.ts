import type { LocalStack } from "@compacter/local";

/**
 * What `compacter dev` prints once the demo's answer is in: exactly how to reach the
 * stack from another terminal — `compacter`, DuckDB with and without httpfs, the aws CLI.
 */
export function connectionHelp(input: {
  readonly stack: LocalStack;
  /** As the user should type it (relative to the working directory when inside it). */
  readonly envFile: string;
  /** A day that has data, for the examples. */
  readonly day: string;
  readonly lakePrefix: string;
  /** The ops console `compacter dev` started, if any. */
  readonly consoleUrl?: string;
}): string {
  const { stack, envFile, day } = input;
  const s3 = new URL(stack.endpoints.s3);
  const dynamodb = stack.endpoints.dynamodb;
  const { rawBucket, lakeBucket, manifestTable, ingestQueueUrl } = stack.resources;
  const glob = `s3://${lakeBucket}/${input.lakePrefix}hiveperiod=*/district=*/*.parquet`;
  const q = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  const consoleLines = input.consoleUrl
    ? `Ops console (health grid, problems and retry, a unit's day on a map and charts, SQL) — open in a browser:
  ${input.consoleUrl}
  (npx compacter ui serves the same console for any stack or AWS deployment, from its settings)

`
    : "";
  return `
${consoleLines}How to look at it from another terminal (in this directory):

  set -a; . ${envFile}; set +a          # endpoints, dummy keys, resource names

compacter — DuckDB over the manifest's current files (a consistent snapshot; no DuckDB extension needed):
  npx compacter query "SELECT district, count(*) AS rows FROM telemetry GROUP BY ALL" --day ${day}
  npx compacter query "SELECT unitno, max(speed_kmh) AS top_speed FROM telemetry WHERE district = \\$d GROUP BY ALL ORDER BY 2 DESC LIMIT 5" --day ${day} --param d=BRCB
  npx compacter query "DESCRIBE telemetry" --day ${day} --format csv
  npx compacter status                                  # queues, due work, quarantined/rejected files
  npx compacter manifest partitions --day ${day}
  npx compacter simulate --districts KLTA --devices 5 --hours 1   # a third district: the worker here compacts it

DuckDB with httpfs (the duckdb CLI; INSTALL httpfs needs internet once):
  INSTALL httpfs; LOAD httpfs;
  SET s3_endpoint = '${s3.host}'; SET s3_url_style = 'path'; SET s3_use_ssl = false;
  SET s3_region = '${stack.region}'; SET s3_access_key_id = '${stack.credentials.accessKeyId}'; SET s3_secret_access_key = '${stack.credentials.secretAccessKey}';
  SELECT district, count(*) AS rows
  FROM read_parquet('${glob}', hive_partitioning = true, union_by_name = true)
  GROUP BY ALL;
  (A glob sees every committed row, and during a merge's publish window a replaced file too; compacter query never does.)

DuckDB without httpfs: use \`compacter query\` above (it downloads the manifest's files to a local cache and runs DuckDB on them).

aws CLI (v2 takes the endpoints from the env file; v1 ignores AWS_ENDPOINT_URL for sqs — add --endpoint-url there):
  aws s3 ls s3://${lakeBucket}/ --recursive
  aws s3 ls s3://${rawBucket}/ --recursive | head
  aws dynamodb query --table-name ${manifestTable} --index-name byDay \\
    --key-condition-expression 'partitionDay = :d' --expression-attribute-values ${q(`{":d":{"S":"${day}"}}`)}
  aws sqs get-queue-attributes --endpoint-url ${stack.endpoints.sqs} --queue-url ${ingestQueueUrl} --attribute-names All
  (v1 without the env file: --endpoint-url ${stack.endpoints.s3} for s3, ${dynamodb} for dynamodb)
`;
}
