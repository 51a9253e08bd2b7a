import { emfMetricsFor } from "@compacter/aws";
import { type CompacterConfig, loadConfig, type SettingName } from "@compacter/core";
import { createRuntime, type Runtime } from "@compacter/wiring";
import { Resource } from "sst";
import type { ContainerOptions } from "./lambdaContainer.js";

/**
 * Lambda config: the resources SST linked to this function (read through `Resource`,
 * i.e. the `SST_RESOURCE_<Name>` variables) win over the `COMPACTER_*` environment the
 * infra also sets. `Resource` stays here, in the handler package: the core only ever sees
 * the plain config.
 */
const LINKS: readonly {
  readonly resource: string;
  readonly property: "name" | "url" | "stage";
  readonly setting: SettingName;
}[] = [
  { resource: "ManifestTable", property: "name", setting: "manifestTable" },
  { resource: "RawBucket", property: "name", setting: "rawBucket" },
  { resource: "LakeBucket", property: "name", setting: "lakeBucket" },
  { resource: "CompactionQueue", property: "url", setting: "compactionQueueUrl" },
  { resource: "IngestDlq", property: "url", setting: "ingestDlqUrl" },
  { resource: "CompactionDlq", property: "url", setting: "compactionDlqUrl" },
  // SST links every function to its app: the stage names the metrics' Stage dimension.
  { resource: "App", property: "stage", setting: "stage" },
];

export function lambdaConfig(env: NodeJS.ProcessEnv = process.env): CompacterConfig {
  const overrides: Partial<Record<SettingName, string>> = {};
  for (const link of LINKS) {
    const value = linked(link.resource, link.property);
    if (value) overrides[link.setting] = value;
  }
  return loadConfig({ env, overrides });
}

function linked(resource: string, property: string): string | undefined {
  try {
    const value = (Resource as unknown as Record<string, Record<string, unknown>>)[resource]?.[property];
    return typeof value === "string" && value !== "" ? value : undefined;
  } catch {
    // Not linked to this function (SST throws on access): the environment decides.
    return undefined;
  }
}

/**
 * A role's runtime on Lambda — the one wiring every handler takes: config from the links,
 * adapters from @compacter/wiring, metrics as EMF lines on stdout (CloudWatch extracts them).
 */
export function lambdaRuntime(role: string, options: ContainerOptions = {}): Runtime {
  const config = lambdaConfig();
  return createRuntime(config, {
    role,
    metrics: emfMetricsFor(config),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
