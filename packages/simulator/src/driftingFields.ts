import { type ChoiceField, DRIVERS, type FieldSpec } from "./fields.js";
import { geometricRate, type Random } from "./random.js";
import type { RowAssembler } from "./rowAssembler.js";

const KIND = { sensor: 0, flag: 1, choice: 2 } as const;

/**
 * The fields that change at random intervals rather than every second: sensors drifting
 * toward a target set by engine load or payload, flags, and status choices. Each field's
 * next change is drawn ahead (geometric gaps), so a row only touches the fields due now.
 * Parameters live in typed arrays: the field objects have four shapes, and reading them in
 * the hot loop is a polymorphic lookup per field per row.
 */
export class DriftingFields {
  private readonly slot: Int32Array;
  private readonly kind: Uint8Array;
  private readonly rate: Float64Array;
  private readonly nextChange: Float64Array;
  private readonly idle: Float64Array;
  private readonly span: Float64Array;
  private readonly noise: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly spread: Float64Array;
  private readonly driver: Uint8Array;
  private readonly probabilityTrue: Float64Array;
  private readonly value: Float64Array;
  private readonly bias: Float64Array;
  private readonly choices: (ChoiceField | undefined)[];
  private first = true;

  constructor(
    layout: readonly FieldSpec[],
    private readonly row: RowAssembler,
    private readonly random: Random,
  ) {
    const fields = layout.flatMap((field, slot) => (field.kind === "vehicle" ? [] : [{ field, slot }]));
    type Drifting = (typeof fields)[number]["field"];
    const count = fields.length;
    const numbers = (pick: (field: Drifting) => number) =>
      Float64Array.from(fields, ({ field }) => pick(field));
    this.slot = Int32Array.from(fields, ({ slot }) => slot);
    this.kind = Uint8Array.from(fields, ({ field }) => KIND[field.kind]);
    this.rate = numbers((f) => geometricRate(f.every));
    this.nextChange = new Float64Array(count);
    const sensor = (pick: (field: Extract<FieldSpec, { kind: "sensor" }>) => number) =>
      numbers((f) => (f.kind === "sensor" ? pick(f) : 0));
    this.idle = sensor((f) => f.idle);
    this.span = sensor((f) => f.full - f.idle);
    this.noise = sensor((f) => f.noise);
    this.min = sensor((f) => f.min);
    this.max = sensor((f) => f.max);
    this.spread = sensor((f) => f.spread);
    this.driver = Uint8Array.from(fields, ({ field }) =>
      field.kind === "sensor" ? DRIVERS[field.driver] : 0,
    );
    this.probabilityTrue = numbers((f) => (f.kind === "flag" ? f.probabilityTrue : 0));
    this.value = new Float64Array(count);
    this.bias = new Float64Array(count);
    this.choices = fields.map(({ field }) => (field.kind === "choice" ? field : undefined));
  }

  /** Changes the fields due at `second`; `load` and `payloadShare` (0..1) drive the sensors. */
  update(second: number, load: number, payloadShare: number): void {
    const first = this.first;
    this.first = false;
    const count = this.slot.length;
    const random = this.random;
    for (let i = 0; i < count; i++) {
      if (this.nextChange[i]! > second) continue;
      this.nextChange[i] = second + random.geometric(this.rate[i]!);
      const slot = this.slot[i]!;
      switch (this.kind[i]) {
        case KIND.sensor: {
          if (first) this.bias[i] = random.signed() * this.spread[i]!;
          const driver =
            this.driver[i] === DRIVERS.load ? load : this.driver[i] === DRIVERS.payload ? payloadShare : 0;
          const target = this.idle[i]! + this.bias[i]! + this.span[i]! * driver;
          const previous = first ? target : this.value[i]!;
          const next = Math.min(
            Math.max(previous + (target - previous) * 0.15 + random.signed() * this.noise[i]!, this.min[i]!),
            this.max[i]!,
          );
          this.value[i] = next;
          this.row.setNumber(slot, next);
          break;
        }
        case KIND.flag:
          this.row.setText(slot, random.float() < this.probabilityTrue[i]! ? "true" : "false");
          break;
        default:
          this.pick(slot, this.choices[i]!);
      }
    }
  }

  private pick(slot: number, field: ChoiceField): void {
    let total = 0;
    for (const weight of field.weights) total += weight;
    let pick = this.random.float() * total;
    let index = 0;
    while (index < field.values.length - 1 && pick >= (field.weights[index] ?? 0)) {
      pick -= field.weights[index] ?? 0;
      index++;
    }
    const value = field.values[index] ?? "";
    if (field.type === "INTEGER") this.row.setScaled(slot, Number(value));
    else this.row.setText(slot, value);
  }
}
