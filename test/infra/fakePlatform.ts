/**
 * A stand-in for the globals SST's platform gives sst.config.ts (`sst`, `aws`, `$app`,
 * `$config`, `$interpolate`, `$jsonStringify`), so the program can run in a test and say what it would declare.
 * It emulates nothing: every `new X(name, args)` and every call is recorded as written, and
 * every value read from a resource is a reference that prints as its path ("IngestQueue.arn").
 * Whether the arguments are valid is tsc's job (sst.test.ts); this checks their values.
 */

export interface Declaration {
  /** Dotted path of the constructor, e.g. "sst.aws.Queue", "aws.cloudwatch.MetricAlarm". */
  readonly type: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly opts: Record<string, unknown> | undefined;
}

export interface Call {
  /** Dotted path of the function, e.g. "IngestQueue.subscribe", "sst.aws.Bucket.get". */
  readonly target: string;
  readonly args: readonly unknown[];
}

export interface FakePlatform {
  readonly declarations: Declaration[];
  readonly calls: Call[];
  declared(type: string, name: string): Declaration;
  ofType(type: string): Declaration[];
  call(target: string): Call;
}

/** Property reads that must not produce a reference (promise checks, printers, matchers). */
const NOT_A_REFERENCE = new Set(["then", "toJSON", "asymmetricMatch", "$$typeof", "nodeType", "constructor"]);

const PATH = Symbol("path");

/** "IngestQueue.arn" for a reference; the value itself otherwise. */
export function describeValue(value: unknown): unknown {
  if (typeof value === "function" && PATH in value) return (value as unknown as Record<symbol, string>)[PATH];
  if (Array.isArray(value)) return value.map(describeValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, describeValue(inner)]));
  }
  return value;
}

export function installFakePlatform(stage: string): FakePlatform {
  const declarations: Declaration[] = [];
  const calls: Call[] = [];

  // A `function` target, not an arrow: only those can be called AND constructed through a proxy.
  const reference = (path: string): unknown =>
    new Proxy(function component() {}, {
      get(_target, property) {
        if (property === PATH) return path;
        if (property === Symbol.toPrimitive || property === "toString") return () => path;
        if (typeof property === "symbol" || NOT_A_REFERENCE.has(property)) return undefined;
        return reference(`${path}.${property}`);
      },
      has: (_target, property) => property === PATH,
      apply(_target, _this, args: unknown[]) {
        calls.push({ target: path, args });
        // SST's permission() is plain data: keep it readable.
        if (path.endsWith(".permission")) return { type: "aws.permission", ...(args[0] as object) };
        // Bucket.get(name, …) and friends return a component named by their first argument.
        return reference(typeof args[0] === "string" ? args[0] : `${path}()`);
      },
      construct(_target, args: unknown[]) {
        const [name, componentArgs, opts] = args as [
          string,
          Record<string, unknown>?,
          Record<string, unknown>?,
        ];
        declarations.push({ type: path, name, args: componentArgs ?? {}, opts });
        return reference(name) as object;
      },
    });

  const globals = globalThis as Record<string, unknown>;
  globals.sst = reference("sst");
  globals.aws = reference("aws");
  globals.$app = { name: "compacter", stage, protect: stage === "prod" };
  globals.$config = (config: unknown) => config;
  globals.$interpolate = (strings: TemplateStringsArray, ...values: unknown[]) =>
    String.raw({ raw: strings }, ...values.map(String));
  globals.$jsonStringify = (value: unknown) => JSON.stringify(describeValue(value));

  return {
    declarations,
    calls,
    declared(type, name) {
      const found = declarations.find((d) => d.type === type && d.name === name);
      if (!found)
        throw new Error(`no ${type} named ${name}; declared: ${declarations.map((d) => d.name).join(", ")}`);
      return found;
    },
    ofType: (type) => declarations.filter((d) => d.type === type),
    call(target) {
      const found = calls.find((c) => c.target === target);
      if (!found) throw new Error(`no call to ${target}; calls: ${calls.map((c) => c.target).join(", ")}`);
      return found;
    },
  };
}

export function removeFakePlatform(): void {
  const globals = globalThis as Record<string, unknown>;
  for (const name of ["sst", "aws", "$app", "$config", "$interpolate", "$jsonStringify"])
    delete globals[name];
}
