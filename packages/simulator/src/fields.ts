/**
 * The device's field catalog. A row carries ~179 fields in a fixed order per firmware
 * version, like real devices: most are sensors that drift slowly toward a target set by
 * how hard the truck is working, some are flags and status strings that change rarely,
 * and a block is driven by the vehicle model (GPS, speed, gear, payload, counters).
 */

export const FIELD_TYPES = ["INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** What moves a sensor's target: nothing, engine load (0..1), or payload (0..1). */
export const DRIVERS = { none: 0, load: 1, payload: 2 } as const;
export type Driver = keyof typeof DRIVERS;

export interface SensorField {
  readonly kind: "sensor";
  readonly name: string;
  readonly type: "INTEGER" | "DOUBLE";
  readonly decimals: number;
  readonly min: number;
  readonly max: number;
  /** Target at driver 0 and at driver 1. */
  readonly idle: number;
  readonly full: number;
  /** Largest random step per change. */
  readonly noise: number;
  /** Mean seconds between changes (sensors report at 1 Hz but many values hold). */
  readonly every: number;
  readonly driver: Driver;
  /** Each file starts with a bias uniform in ±spread, so hours and trucks differ. */
  readonly spread: number;
}

export interface FlagField {
  readonly kind: "flag";
  readonly name: string;
  readonly type: "BOOLEAN";
  readonly probabilityTrue: number;
  readonly every: number;
}

export interface ChoiceField {
  readonly kind: "choice";
  readonly name: string;
  readonly type: "VARCHAR" | "INTEGER";
  readonly values: readonly string[];
  /** Relative weights, same length as values. */
  readonly weights: readonly number[];
  readonly every: number;
}

/** Written by the vehicle model every row (see fileGenerator.ts for each one's meaning). */
export interface VehicleField {
  readonly kind: "vehicle";
  readonly name: string;
  readonly type: FieldType;
  readonly decimals: number;
}

export type FieldSpec = SensorField | FlagField | ChoiceField | VehicleField;

function sensor(
  name: string,
  type: "INTEGER" | "DOUBLE",
  range: readonly [number, number],
  target: readonly [number, number],
  options: { decimals?: number; noise?: number; every?: number; driver?: Driver; spread?: number } = {},
): SensorField {
  return {
    kind: "sensor",
    name,
    type,
    decimals: type === "INTEGER" ? 0 : (options.decimals ?? 1),
    min: range[0],
    max: range[1],
    idle: target[0],
    full: target[1],
    noise: options.noise ?? (range[1] - range[0]) / 400,
    every: options.every ?? 4,
    driver: options.driver ?? (target[0] === target[1] ? "none" : "load"),
    spread: options.spread ?? 0,
  };
}

function flag(name: string, probabilityTrue: number, every = 600): FlagField {
  return { kind: "flag", name, type: "BOOLEAN", probabilityTrue, every };
}

function choice(
  name: string,
  values: readonly string[],
  options: { weights?: readonly number[]; every?: number; type?: "VARCHAR" | "INTEGER" } = {},
): ChoiceField {
  return {
    kind: "choice",
    name,
    type: options.type ?? "VARCHAR",
    values,
    weights: options.weights ?? values.map(() => 1),
    every: options.every ?? 3600 * 4,
  };
}

function vehicle(name: string, type: FieldType, decimals = 0): VehicleField {
  return { kind: "vehicle", name, type, decimals };
}

const TYRES = ["fl", "fr", "rlo", "rli", "rri", "rro"] as const;
const WHEELS = ["fl", "fr", "rl", "rr"] as const;
const CYLINDERS = Array.from({ length: 16 }, (_, i) => String(i + 1).padStart(2, "0"));

/** Firmware 4.2.1, the fleet's current version. `heartbeat` is always first. */
const BASE_FIELDS: readonly FieldSpec[] = [
  vehicle("heartbeat", "INTEGER"),
  vehicle("unitno", "VARCHAR"),
  vehicle("fw_version", "VARCHAR"),
  vehicle("seq", "INTEGER"),
  vehicle("uptime_s", "INTEGER"),
  choice("operator_id", ["OP1041", "OP1187", "OP2210", "OP2356", "OP3012", "OP3377", "OP4120", "OP4498"]),
  vehicle("shift", "VARCHAR"),
  choice("crew", ["A", "B", "C", "D"]),
  choice("loader_id", ["EX01", "EX02", "EX03", "EX05", "SH07"], { every: 3600 }),
  choice("dump_id", ["CR1", "CR2", "WD3", "ROM1"], { every: 3600 }),
  vehicle("status", "VARCHAR"),
  vehicle("status_code", "INTEGER"),
  vehicle("haul_state", "VARCHAR"),
  vehicle("haul_cycle_count", "INTEGER"),
  // GPS and motion
  vehicle("gps_lat", "DOUBLE", 6),
  vehicle("gps_lon", "DOUBLE", 6),
  vehicle("gps_alt_m", "DOUBLE", 1),
  vehicle("gps_heading_deg", "DOUBLE", 1),
  vehicle("gps_speed_kmh", "DOUBLE", 1),
  sensor("gps_satellites", "INTEGER", [4, 18], [12, 12], { noise: 1.5, every: 20, spread: 3 }),
  sensor("gps_hdop", "DOUBLE", [0.5, 9], [0.9, 0.9], { noise: 0.15, every: 8, spread: 0.3 }),
  choice("gps_fix", ["3", "3", "3", "2"], { type: "INTEGER", every: 1800 }),
  flag("gps_valid", 0.995, 300),
  vehicle("speed_kmh", "DOUBLE", 1),
  vehicle("odometer_km", "DOUBLE", 2),
  vehicle("accel_x_g", "DOUBLE", 2),
  sensor("accel_y_g", "DOUBLE", [-0.6, 0.6], [0, 0], { decimals: 2, noise: 0.04, every: 1 }),
  sensor("accel_z_g", "DOUBLE", [0.6, 1.4], [1, 1], { decimals: 2, noise: 0.04, every: 1 }),
  vehicle("pitch_deg", "DOUBLE", 1),
  sensor("roll_deg", "DOUBLE", [-8, 8], [0, 0], { noise: 0.4, every: 2 }),
  vehicle("payload_t", "DOUBLE", 1),
  vehicle("load_count", "INTEGER"),
  vehicle("body_up", "BOOLEAN"),
  vehicle("hoist_angle_deg", "DOUBLE", 1),
  // Engine
  vehicle("eng_rpm", "INTEGER"),
  vehicle("eng_load_pct", "DOUBLE", 1),
  vehicle("eng_throttle_pct", "DOUBLE", 1),
  sensor("eng_torque_pct", "INTEGER", [-25, 100], [-12, 92], { noise: 4, every: 1 }),
  sensor("eng_coolant_temp_c", "DOUBLE", [60, 110], [82, 96], { noise: 0.3, every: 6, spread: 3 }),
  sensor("eng_oil_temp_c", "DOUBLE", [60, 125], [88, 104], { noise: 0.3, every: 6, spread: 3 }),
  sensor("eng_oil_press_kpa", "DOUBLE", [100, 700], [280, 520], { noise: 6, every: 2, spread: 20 }),
  sensor("eng_boost_press_kpa", "DOUBLE", [0, 320], [10, 260], { noise: 5, every: 1 }),
  sensor("eng_intake_air_temp_c", "DOUBLE", [5, 80], [35, 55], { noise: 0.4, every: 5, spread: 6 }),
  sensor("eng_intake_manifold_temp_c", "DOUBLE", [10, 95], [45, 68], { noise: 0.4, every: 5, spread: 4 }),
  sensor("eng_crankcase_press_kpa", "DOUBLE", [-1.5, 3], [-0.3, 1.2], { decimals: 2, noise: 0.05, every: 3 }),
  sensor("eng_fuel_press_kpa", "DOUBLE", [200, 800], [420, 650], { noise: 4, every: 2 }),
  sensor("eng_fuel_temp_c", "DOUBLE", [15, 80], [42, 55], { noise: 0.2, every: 10, spread: 5 }),
  sensor("eng_coolant_level_pct", "INTEGER", [0, 100], [96, 96], { noise: 1, every: 300, spread: 3 }),
  sensor("eng_oil_level_pct", "INTEGER", [0, 100], [92, 92], { noise: 1, every: 400, spread: 4 }),
  sensor("eng_blowby_lpm", "DOUBLE", [0, 600], [80, 260], { noise: 3, every: 4 }),
  sensor("eng_exh_temp_bank_l_c", "DOUBLE", [100, 750], [220, 580], { noise: 4, every: 2 }),
  sensor("eng_exh_temp_bank_r_c", "DOUBLE", [100, 750], [225, 585], { noise: 4, every: 2 }),
  ...CYLINDERS.map((c) =>
    sensor(`eng_exh_temp_cyl${c}_c`, "DOUBLE", [100, 750], [210, 570], { noise: 5, every: 3, spread: 15 }),
  ),
  ...[1, 2, 3, 4].map((t) =>
    sensor(`eng_turbo${t}_speed_rpm`, "INTEGER", [0, 120000], [18000, 95000], { noise: 900, every: 1 }),
  ),
  sensor("eng_fan_speed_rpm", "INTEGER", [0, 1500], [400, 1100], { noise: 15, every: 3 }),
  sensor("eng_ecu_temp_c", "DOUBLE", [20, 95], [48, 60], { noise: 0.2, every: 15, spread: 4 }),
  sensor("eng_air_filter_dp_kpa", "DOUBLE", [0, 8], [1.2, 4.5], { decimals: 2, noise: 0.05, every: 5 }),
  sensor("eng_oil_filter_dp_kpa", "DOUBLE", [0, 200], [40, 90], { noise: 0.8, every: 8 }),
  sensor("eng_barometric_kpa", "DOUBLE", [80, 105], [96, 96], { noise: 0.05, every: 30, spread: 1.5 }),
  vehicle("eng_hours", "DOUBLE", 2),
  vehicle("eng_running", "BOOLEAN"),
  vehicle("idle_time_s", "INTEGER"),
  vehicle("eng_start_count", "INTEGER"),
  // Fuel and emissions
  vehicle("fuel_rate_lph", "DOUBLE", 1),
  vehicle("fuel_used_l", "DOUBLE", 1),
  vehicle("fuel_level_pct", "DOUBLE", 1),
  sensor("def_level_pct", "DOUBLE", [0, 100], [70, 70], { noise: 0.05, every: 60, spread: 25 }),
  sensor("def_temp_c", "DOUBLE", [5, 70], [32, 40], { noise: 0.2, every: 12, spread: 5 }),
  sensor("dpf_soot_pct", "DOUBLE", [0, 100], [35, 38], { noise: 0.05, every: 30, spread: 25 }),
  sensor("dpf_dp_kpa", "DOUBLE", [0, 30], [3, 14], { noise: 0.2, every: 3 }),
  sensor("nox_ppm", "INTEGER", [0, 2000], [280, 920], { noise: 15, every: 2 }),
  sensor("scr_temp_c", "DOUBLE", [100, 600], [220, 450], { noise: 2, every: 3 }),
  flag("dpf_regen_active", 0.05, 1800),
  // Tyres, brakes, suspension
  ...TYRES.flatMap((t) => [
    sensor(`tyre_${t}_press_kpa`, "DOUBLE", [450, 850], [690, 702], { noise: 0.5, every: 10, spread: 25 }),
    sensor(`tyre_${t}_temp_c`, "DOUBLE", [10, 110], [45, 72], { noise: 0.2, every: 12, spread: 6 }),
  ]),
  ...WHEELS.map((w) =>
    sensor(`brake_${w}_temp_c`, "DOUBLE", [10, 400], [60, 95], { noise: 1, every: 4, spread: 10 }),
  ),
  vehicle("park_brake", "BOOLEAN"),
  vehicle("service_brake", "BOOLEAN"),
  sensor("brake_front_press_kpa", "DOUBLE", [0, 20000], [200, 1500], { noise: 60, every: 2 }),
  sensor("brake_rear_press_kpa", "DOUBLE", [0, 20000], [220, 1600], { noise: 60, every: 2 }),
  sensor("brake_accum_press_kpa", "DOUBLE", [8000, 20000], [16500, 17000], { noise: 40, every: 5 }),
  vehicle("retarder_pct", "DOUBLE", 1),
  sensor("retarder_oil_temp_c", "DOUBLE", [30, 130], [70, 90], { noise: 0.3, every: 6, spread: 5 }),
  ...WHEELS.flatMap((w) => [
    sensor(`susp_${w}_press_kpa`, "DOUBLE", [1000, 12000], [3200, 9800], {
      noise: 60,
      every: 2,
      driver: "payload",
      spread: 200,
    }),
    sensor(`susp_${w}_height_mm`, "INTEGER", [80, 320], [260, 170], {
      noise: 2,
      every: 2,
      driver: "payload",
      spread: 8,
    }),
  ]),
  // Hydraulics
  sensor("hyd_oil_temp_c", "DOUBLE", [20, 100], [55, 70], { noise: 0.2, every: 8, spread: 5 }),
  sensor("hyd_oil_press_kpa", "DOUBLE", [0, 25000], [2500, 9000], { noise: 120, every: 1 }),
  sensor("hyd_tank_level_pct", "DOUBLE", [0, 100], [85, 85], { noise: 0.05, every: 30, spread: 6 }),
  sensor("hyd_filter_dp_kpa", "DOUBLE", [0, 400], [60, 140], { noise: 1.5, every: 6 }),
  sensor("hoist_press_kpa", "DOUBLE", [0, 25000], [300, 600], { noise: 20, every: 3 }),
  sensor("steering_press_kpa", "DOUBLE", [0, 25000], [12000, 15000], { noise: 200, every: 1 }),
  // Drive train
  vehicle("trans_gear", "VARCHAR"),
  vehicle("trans_gear_num", "INTEGER"),
  vehicle("trans_output_rpm", "INTEGER"),
  vehicle("trans_lockup", "BOOLEAN"),
  vehicle("trans_shift_count", "INTEGER"),
  sensor("trans_oil_temp_c", "DOUBLE", [30, 120], [70, 90], { noise: 0.3, every: 6, spread: 5 }),
  sensor("trans_oil_press_kpa", "DOUBLE", [0, 3000], [1600, 2100], { noise: 15, every: 2 }),
  sensor("trans_converter_temp_c", "DOUBLE", [30, 130], [75, 95], { noise: 0.3, every: 6, spread: 5 }),
  sensor("diff_oil_temp_c", "DOUBLE", [30, 110], [60, 80], { noise: 0.2, every: 10, spread: 5 }),
  sensor("final_drive_l_temp_c", "DOUBLE", [30, 110], [58, 78], { noise: 0.2, every: 10, spread: 5 }),
  sensor("final_drive_r_temp_c", "DOUBLE", [30, 110], [59, 79], { noise: 0.2, every: 10, spread: 5 }),
  // Electrical and environment
  sensor("batt_voltage_v", "DOUBLE", [22, 29], [27.4, 27.8], { decimals: 2, noise: 0.03, every: 4 }),
  sensor("batt_temp_c", "DOUBLE", [10, 60], [34, 38], { noise: 0.1, every: 20, spread: 6 }),
  sensor("alt_current_a", "DOUBLE", [-40, 180], [-8, 85], { noise: 3, every: 2 }),
  sensor("alt_voltage_v", "DOUBLE", [24, 29], [27.6, 28.1], { decimals: 2, noise: 0.03, every: 4 }),
  sensor("cab_temp_c", "DOUBLE", [12, 38], [22, 22], { noise: 0.1, every: 20, spread: 3 }),
  sensor("ambient_temp_c", "DOUBLE", [-2, 48], [29, 29], { noise: 0.1, every: 30, spread: 12 }),
  sensor("ambient_press_kpa", "DOUBLE", [85, 105], [96.5, 96.5], { noise: 0.03, every: 40, spread: 1.5 }),
  sensor("humidity_pct", "DOUBLE", [3, 100], [28, 28], { noise: 0.3, every: 30, spread: 18 }),
  // Status, faults, safety
  flag("fault_active", 0.04, 900),
  choice("fault_code", ["", "SPN110-FMI0", "SPN100-FMI1", "SPN190-FMI2", "SPN3226-FMI4", "SPN520-FMI9"], {
    weights: [40, 1, 1, 1, 1, 1],
    every: 900,
  }),
  sensor("fault_count", "INTEGER", [0, 12], [1, 1], { noise: 1, every: 900, spread: 1 }),
  sensor("warn_count", "INTEGER", [0, 30], [3, 3], { noise: 1, every: 600, spread: 3 }),
  choice("dtc_spn", ["0", "0", "0", "110", "100", "190", "3226"], { type: "INTEGER", every: 900 }),
  choice("dtc_fmi", ["0", "0", "0", "1", "2", "4", "9"], { type: "INTEGER", every: 900 }),
  vehicle("ignition", "BOOLEAN"),
  flag("seatbelt", 0.98, 1200),
  flag("door_open", 0.01, 600),
  vehicle("lights_on", "BOOLEAN"),
  flag("beacon_on", 0.97, 3600),
  flag("horn", 0.005, 60),
  flag("emergency_stop", 0.001, 3600),
  flag("autolube_active", 0.15, 240),
  sensor("autolube_level_pct", "DOUBLE", [0, 100], [60, 60], { noise: 0.05, every: 120, spread: 30 }),
  sensor("autolube_press_kpa", "DOUBLE", [0, 30000], [2000, 2400], { noise: 150, every: 4 }),
  flag("aircon_on", 0.9, 1800),
  flag("wiper_on", 0.03, 900),
  flag("fan_clutch_engaged", 0.6, 120),
  flag("fatigue_alert", 0.004, 120),
  flag("overspeed", 0.003, 60),
  flag("collision_warning", 0.006, 45),
  sensor("prox_front_m", "DOUBLE", [0, 60], [30, 30], { noise: 2, every: 2, spread: 10 }),
  sensor("prox_rear_m", "DOUBLE", [0, 60], [30, 30], { noise: 2, every: 2, spread: 10 }),
  // Telematics unit
  sensor("rssi_dbm", "INTEGER", [-115, -51], [-79, -79], { noise: 2, every: 5, spread: 12 }),
  choice("lte_band", ["3", "28", "40"], { type: "INTEGER" }),
  choice("net_type", ["LTE", "LTE", "LTE", "3G"], { every: 1800 }),
  sensor("modem_temp_c", "DOUBLE", [20, 85], [46, 52], { noise: 0.2, every: 15, spread: 6 }),
  sensor("cpu_load_pct", "DOUBLE", [0, 100], [18, 34], { noise: 2, every: 2 }),
  sensor("mem_free_kb", "INTEGER", [1000, 262144], [131072, 131072], { noise: 600, every: 5, spread: 30000 }),
  sensor("sd_free_mb", "INTEGER", [0, 32768], [20000, 20000], { noise: 1, every: 120, spread: 9000 }),
  sensor("msg_queue_len", "INTEGER", [0, 64], [2, 6], { noise: 1.5, every: 3 }),
];

/** What firmware 4.3.0 changed: the fields it adds (after `after`) and the one it renames. */
export const DRIFT_RENAME = { from: "eng_oil_press_kpa", to: "eng_oil_pressure_kpa" } as const;

const DRIFT_ADDITIONS: readonly { after: string; field: FieldSpec }[] = [
  { after: "haul_state", field: choice("drive_mode", ["AUTO", "MANUAL", "AUTO"], { every: 3600 }) },
  {
    after: "eng_hours",
    field: sensor("eng_idle_time_s", "INTEGER", [0, 3600], [600, 600], { noise: 1, every: 5, spread: 300 }),
  },
  {
    after: "def_temp_c",
    field: sensor("def_dosing_rate_mlh", "DOUBLE", [0, 12000], [900, 5200], { noise: 60, every: 2 }),
  },
  { after: "tyre_rro_temp_c", field: flag("tyre_pressure_alarm", 0.01, 900) },
  {
    after: "msg_queue_len",
    field: sensor("cab_co2_ppm", "INTEGER", [380, 3000], [700, 700], { noise: 8, every: 10, spread: 150 }),
  },
];

export const FIRMWARE = { base: "4.2.1", drifted: "4.3.0" } as const;
export type FirmwareVersion = (typeof FIRMWARE)[keyof typeof FIRMWARE];

export const DRIFT_ADDED_FIELDS: readonly string[] = DRIFT_ADDITIONS.map((a) => a.field.name);

function driftedFields(): readonly FieldSpec[] {
  const fields: FieldSpec[] = [];
  for (const field of BASE_FIELDS) {
    fields.push(field.name === DRIFT_RENAME.from ? { ...field, name: DRIFT_RENAME.to } : field);
    for (const addition of DRIFT_ADDITIONS) {
      if (addition.after === field.name) fields.push(addition.field);
    }
  }
  return fields;
}

const LAYOUTS: Record<FirmwareVersion, readonly FieldSpec[]> = {
  [FIRMWARE.base]: BASE_FIELDS,
  [FIRMWARE.drifted]: driftedFields(),
};

/** The fields a firmware version writes, in the order it writes them. */
export function firmwareFields(version: FirmwareVersion): readonly FieldSpec[] {
  return LAYOUTS[version];
}

/** Numeric fields a stray string can land in (never `heartbeat`: it decides event_time). */
export function isStrayCandidate(field: FieldSpec): boolean {
  return field.name !== "heartbeat" && (field.type === "INTEGER" || field.type === "DOUBLE");
}
