import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";

/**
 * Builds DynamoDB expressions with every attribute name and value as a placeholder, so
 * reserved words (`status`, `size`, `key`, …) and data never end up in expression text.
 * Placeholders are short (`#n0`, `:v0`): dynalite's expression parser slows down with
 * long identifiers (a condition with `#sequencer` parses ~10× slower than with `#n1`),
 * and that parse is most of a local write.
 */
export class Expression {
  private readonly names: Record<string, string> = {};
  private readonly placeholders = new Map<string, string>();
  private readonly values: Record<string, unknown> = {};
  private counter = 0;

  /** A placeholder for an attribute (a path like `inflight.attemptId` becomes `#n0.#n1`). */
  name(path: string): string {
    return path
      .split(".")
      .map((part) => {
        let placeholder = this.placeholders.get(part);
        if (!placeholder) {
          placeholder = `#n${this.placeholders.size}`;
          this.placeholders.set(part, placeholder);
          this.names[placeholder] = part;
        }
        return placeholder;
      })
      .join(".");
  }

  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** The request fields; empty maps are left out, as DynamoDB rejects them. */
  params(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  } {
    return {
      ...(Object.keys(this.names).length > 0 ? { ExpressionAttributeNames: { ...this.names } } : {}),
      ...(Object.keys(this.values).length > 0
        ? { ExpressionAttributeValues: marshall(this.values, { removeUndefinedValues: true }) }
        : {}),
    };
  }
}

/** SET / REMOVE / ADD clauses of an UpdateExpression. */
export class Update extends Expression {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly adds: string[] = [];

  set(attribute: string, value: unknown): this {
    this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  /** Sets `attribute` only when it is absent: first-writer-wins fields. */
  setIfAbsent(attribute: string, value: unknown): this {
    const name = this.name(attribute);
    this.sets.push(`${name} = if_not_exists(${name}, ${this.value(value)})`);
    return this;
  }

  /** Sets every defined entry; an undefined one is removed, so the item never keeps a stale value. */
  setOrRemove(fields: Readonly<Record<string, unknown>>): this {
    for (const [attribute, value] of Object.entries(fields)) {
      if (value === undefined) this.remove(attribute);
      else this.set(attribute, value);
    }
    return this;
  }

  remove(...attributes: string[]): this {
    for (const attribute of attributes) this.removes.push(this.name(attribute));
    return this;
  }

  add(attribute: string, amount: number): this {
    this.adds.push(`${this.name(attribute)} ${this.value(amount)}`);
    return this;
  }

  expression(): string {
    return [
      this.sets.length > 0 ? `SET ${this.sets.join(", ")}` : "",
      this.removes.length > 0 ? `REMOVE ${this.removes.join(", ")}` : "",
      this.adds.length > 0 ? `ADD ${this.adds.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join(" ");
  }
}
