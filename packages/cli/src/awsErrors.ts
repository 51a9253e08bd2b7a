import { CompacterError, ConfigError } from "@compacter/core";

/**
 * What a newcomer sees when they run a command in a shell that has not loaded the local
 * stack's env file (or any AWS configuration): the SDK's own "Region is missing" says
 * nothing about Compacter.
 */
export const NO_REGION =
  "no endpoint/region: load .compacter/local.env (set -a; . .compacter/local.env; set +a) or set AWS_REGION";

const WHERE =
  "is the local stack running and its env file loaded (set -a; . .compacter/local.env; set +a), " +
  "or are AWS credentials, region and the COMPACTER_* resource settings set for your deployment?";

/**
 * The AWS SDK's errors for "nothing is configured here" become one line an operator can
 * act on instead of a stack trace; anything else passes through unchanged.
 */
export function explainAwsError(error: unknown): unknown {
  if (error instanceof CompacterError) return error;
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const message = e?.message ?? String(error);
  // A configuration problem, not a failure: exit 2 like any other missing setting.
  if (/Region is missing/.test(message)) return new ConfigError(NO_REGION, { cause: error });
  const refused =
    e?.code === "ECONNREFUSED" || e?.cause?.code === "ECONNREFUSED" || /ECONNREFUSED/.test(message);
  const known =
    refused ||
    e?.name === "ResourceNotFoundException" ||
    e?.name === "NoSuchBucket" ||
    e?.name === "CredentialsProviderError" ||
    e?.name === "QueueDoesNotExist";
  if (!known) return error;
  return new CompacterError(`${refused ? "cannot reach the endpoint" : message}: ${WHERE}`, { cause: error });
}
