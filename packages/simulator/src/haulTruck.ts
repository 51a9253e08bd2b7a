import type { FirmwareVersion } from "./fields.js";
import { type HaulRoad, haulRoadFor } from "./haulRoad.js";
import type { Random } from "./random.js";
import type { RowAssembler } from "./rowAssembler.js";

/** Lifetime counters of a device at 2020-01-01; they grow with the hour so they rise across files. */
export interface DeviceCounters {
  readonly engineHours: number;
  readonly odometerKm: number;
  readonly fuelUsedL: number;
  readonly haulCycles: number;
  readonly shifts: number;
  readonly engineStarts: number;
  readonly seq: number;
}

export interface TruckHour {
  readonly district: string;
  /** The device's index inside its district (picks its haul road). */
  readonly deviceIndex: number;
  readonly unitno: string;
  readonly firmware: FirmwareVersion;
  readonly hourStartMs: number;
  /** Hour of day in keyTimeZone (decides the shift and the lights). */
  readonly localHour: number;
  readonly counters: DeviceCounters;
}

const REFERENCE_MS = Date.UTC(2020, 0, 1);
const TANK_LITRES = 4500;
const CAPACITY_TONNES = 220;
const SEQ_WRAP = 2_000_000_000;

const STATE = { loading: 0, hauling: 1, dumping: 2, returning: 3, queuing: 4 } as const;
const STATE_NAMES = ["LOADING", "HAULING", "DUMPING", "RETURNING", "QUEUING"] as const;
/** Engine load each state settles at. */
const LOAD_TARGET = [0.15, 0.85, 0.45, 0.3, 0.08] as const;
/** Indexed by gear + 1 (reverse is -1). */
const GEAR_NAMES = ["R", "N", "1", "2", "3", "4", "5", "6", "7"] as const;
const STATUS_NAMES = ["RUNNING", "IDLE", "DELAY"] as const;

/** The row fields the truck writes (the `vehicle` fields of the catalog). */
const SLOT_NAMES = {
  heartbeat: "heartbeat",
  unitno: "unitno",
  fwVersion: "fw_version",
  seq: "seq",
  uptime: "uptime_s",
  shift: "shift",
  status: "status",
  statusCode: "status_code",
  haulState: "haul_state",
  haulCycles: "haul_cycle_count",
  lat: "gps_lat",
  lon: "gps_lon",
  alt: "gps_alt_m",
  heading: "gps_heading_deg",
  gpsSpeed: "gps_speed_kmh",
  speed: "speed_kmh",
  odometer: "odometer_km",
  accelX: "accel_x_g",
  pitch: "pitch_deg",
  payload: "payload_t",
  loadCount: "load_count",
  bodyUp: "body_up",
  hoistAngle: "hoist_angle_deg",
  rpm: "eng_rpm",
  load: "eng_load_pct",
  throttle: "eng_throttle_pct",
  engineHours: "eng_hours",
  running: "eng_running",
  idleTime: "idle_time_s",
  starts: "eng_start_count",
  fuelRate: "fuel_rate_lph",
  fuelUsed: "fuel_used_l",
  fuelLevel: "fuel_level_pct",
  parkBrake: "park_brake",
  serviceBrake: "service_brake",
  retarder: "retarder_pct",
  gear: "trans_gear",
  gearNum: "trans_gear_num",
  outputRpm: "trans_output_rpm",
  lockup: "trans_lockup",
  shifts: "trans_shift_count",
  ignition: "ignition",
  lights: "lights_on",
} as const;

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/**
 * A 220 t haul truck cycling between a loader in the pit and a dump: it reverses in and
 * loads, hauls up the road loaded, tips its body, returns empty, sometimes queues. Speed,
 * GPS track, gear, payload, engine load and the lifetime counters follow from that; the
 * sensors elsewhere in the row take `load` and `payloadShare` as their drivers.
 *
 * State lives in fields, not closure variables: V8 keeps double fields unboxed, while a
 * closure's `let` holding a double allocates on every assignment.
 */
export class HaulTruck {
  /** Engine load, 0..1. */
  load: number;
  private readonly road: HaulRoad;
  private readonly slots: Record<keyof typeof SLOT_NAMES, number>;
  private state: number;
  private stateLeft: number;
  private position: number;
  private speed: number;
  private segment = 0;
  private payload: number;
  private rpm: number;
  private heading: number;
  private gear = 0;
  private hoistAngle = 0;
  private readonly cruiseLoaded: number;
  private readonly cruiseEmpty: number;
  private engineHours: number;
  private odometer: number;
  private fuelUsed: number;
  private fuelLevel: number;
  private haulCycles: number;
  private loadCount: number;
  private shiftCount: number;
  private idleTime: number;
  private readonly uptimeStart: number;
  private readonly seqStart: number;

  constructor(
    hour: TruckHour,
    private readonly row: RowAssembler,
    slotOf: (name: string) => number,
    private readonly random: Random,
  ) {
    this.road = haulRoadFor(hour.district, hour.deviceIndex);
    this.slots = Object.fromEntries(
      Object.entries(SLOT_NAMES).map(([key, name]) => [key, slotOf(name)]),
    ) as Record<keyof typeof SLOT_NAMES, number>;
    const counters = hour.counters;
    const hoursSinceReference = Math.max(0, (hour.hourStartMs - REFERENCE_MS) / 3_600_000);
    this.state = random.int(0, 4);
    this.stateLeft = random.int(20, 180);
    this.position = random.float() * this.road.length;
    this.speed = this.state === STATE.hauling ? 22 : this.state === STATE.returning ? 35 : 0;
    this.payload = this.state === STATE.hauling ? CAPACITY_TONNES * (0.9 + random.float() * 0.1) : 0;
    this.load = LOAD_TARGET[this.state] ?? 0.2;
    this.rpm = 700 + 1200 * this.load;
    this.heading = random.float() * 360;
    this.cruiseLoaded = 22 + random.float() * 6;
    this.cruiseEmpty = 36 + random.float() * 8;
    this.engineHours = counters.engineHours + hoursSinceReference * 0.85;
    this.odometer = counters.odometerKm + hoursSinceReference * 16;
    this.fuelUsed = counters.fuelUsedL + hoursSinceReference * 170;
    this.fuelLevel = 35 + random.float() * 60;
    this.haulCycles = counters.haulCycles + Math.floor(hoursSinceReference * 3);
    this.loadCount = random.int(0, 30);
    this.shiftCount = counters.shifts + Math.floor(hoursSinceReference * 120);
    this.idleTime = random.int(0, 20000);
    this.uptimeStart = random.int(600, 2_000_000);
    this.seqStart = (counters.seq + Math.floor(hoursSinceReference * 3600)) % SEQ_WRAP;

    // Fields that hold for the whole hour.
    const k = this.slots;
    const night = hour.localHour < 6 || hour.localHour >= 18;
    row.setText(k.unitno, hour.unitno);
    row.setText(k.fwVersion, hour.firmware);
    row.setText(k.shift, night ? "NIGHT" : "DAY");
    row.setText(k.lights, night ? "true" : "false");
    row.setText(k.ignition, "true");
    row.setText(k.running, "true");
    row.setScaled(k.starts, counters.engineStarts + Math.floor(hoursSinceReference / 10));
  }

  /** Payload as a share of capacity, 0..1. */
  get payloadShare(): number {
    return this.payload / CAPACITY_TONNES;
  }

  /** The clock fields of the row at `second` of the hour. */
  tick(heartbeat: number, second: number): void {
    const k = this.slots;
    this.row.setScaled(k.heartbeat, heartbeat);
    this.row.setScaled(k.seq, (this.seqStart + second) % SEQ_WRAP);
    this.row.setScaled(k.uptime, this.uptimeStart + second);
  }

  /** Moves the truck on by `dt` seconds and writes its fields. */
  step(dt: number): void {
    const random = this.random;
    const road = this.road;
    const previousSpeed = this.speed;
    let targetSpeed = 0;
    let reversing = false;
    this.stateLeft -= dt;
    switch (this.state) {
      case STATE.loading: {
        reversing = this.stateLeft > 140;
        targetSpeed = reversing ? 4 : 0;
        if (!reversing) this.payload = Math.min(CAPACITY_TONNES, this.payload + (CAPACITY_TONNES / 120) * dt);
        if (this.stateLeft <= 0) {
          this.state = STATE.hauling;
          this.loadCount++;
        }
        break;
      }
      case STATE.hauling: {
        const remaining = road.length - this.position;
        targetSpeed = Math.min(this.cruiseLoaded, Math.sqrt(2 * 0.4 * remaining) * 3.6);
        if (remaining < 3) {
          this.state = STATE.dumping;
          this.stateLeft = 50 + random.int(0, 30);
          this.speed = 0;
        }
        break;
      }
      case STATE.dumping: {
        this.hoistAngle = clamp(this.hoistAngle + (this.stateLeft > 25 ? 3 : -3) * dt, 0, 48);
        if (this.hoistAngle > 40) this.payload = Math.max(0, this.payload - 30 * dt);
        if (this.stateLeft <= 0) {
          this.state = STATE.returning;
          this.payload = 0;
          this.hoistAngle = 0;
          this.haulCycles++;
        }
        break;
      }
      case STATE.returning: {
        targetSpeed = Math.min(this.cruiseEmpty, Math.sqrt(2 * 0.4 * this.position) * 3.6);
        if (this.position < 3) {
          this.speed = 0;
          if (random.float() < 0.5) {
            this.state = STATE.queuing;
            this.stateLeft = random.int(10, 120);
          } else {
            this.state = STATE.loading;
            this.stateLeft = 160 + random.int(0, 60);
          }
        }
        break;
      }
      default: {
        if (this.stateLeft <= 0) {
          this.state = STATE.loading;
          this.stateLeft = 160 + random.int(0, 60);
        }
      }
    }
    const maxChange = 1.8 * dt;
    let speed = Math.max(
      0,
      this.speed + clamp(targetSpeed - this.speed, -maxChange, maxChange) + random.signed() * 0.3,
    );
    if (targetSpeed === 0 && speed < 0.6) speed = 0;
    this.speed = speed;
    const state = this.state;
    const direction = state === STATE.returning ? -1 : 1;
    if (state === STATE.hauling || state === STATE.returning) {
      this.position = clamp(this.position + (direction * speed * dt) / 3.6, 0, road.length);
    }
    const position = this.position;
    let segment = this.segment;
    const lastSegment = road.distance.length - 2;
    while (segment < lastSegment && position > road.distance[segment + 1]!) segment++;
    while (segment > 0 && position < road.distance[segment]!) segment--;
    this.segment = segment;

    const start = road.distance[segment]!;
    const share = (position - start) / (road.distance[segment + 1]! - start);
    const lat = road.lat[segment]! + share * (road.lat[segment + 1]! - road.lat[segment]!);
    const lon = road.lon[segment]! + share * (road.lon[segment + 1]! - road.lon[segment]!);
    const alt = road.alt[segment]! + share * (road.alt[segment + 1]! - road.alt[segment]!);
    const grade = road.grade[segment]! * (speed > 0 ? direction : 0);
    if (speed > 1) {
      this.heading = (road.bearing[segment]! + (direction < 0 ? 180 : 0) + random.signed() * 2 + 360) % 360;
    }

    const load = clamp(
      this.load +
        ((LOAD_TARGET[state] ?? 0.2) + grade * 2 - this.load) * Math.min(1, 0.2 * dt) +
        random.signed() * 0.03,
      0,
      1,
    );
    this.load = load;
    this.rpm = clamp(
      this.rpm + (700 + 1200 * load - this.rpm) * Math.min(1, 0.3 * dt) + random.signed() * 25,
      600,
      2100,
    );
    const fuelRate = Math.max(0, 25 + 340 * load + random.signed() * 4);
    this.fuelUsed += (fuelRate * dt) / 3600;
    this.fuelLevel = Math.max(0, this.fuelLevel - (fuelRate * dt * 100) / 3600 / TANK_LITRES);
    this.engineHours += dt / 3600;
    this.odometer += (speed * dt) / 3600;
    if (speed < 0.5) this.idleTime += dt;
    const gear = reversing
      ? -1
      : speed < 0.5
        ? 0
        : Math.min(7, 1 + Math.floor(speed / (state === STATE.hauling ? 5 : 7)));
    if (gear !== this.gear) this.shiftCount++;
    this.gear = gear;

    const row = this.row;
    const k = this.slots;
    const stopped = speed === 0;
    row.setNumber(k.lat, lat + random.signed() * 0.000004);
    row.setNumber(k.lon, lon + random.signed() * 0.000004);
    row.setNumber(k.alt, alt + random.signed() * 0.4);
    row.setNumber(k.heading, this.heading);
    row.setNumber(k.gpsSpeed, stopped ? 0 : Math.max(0, speed + random.signed() * 0.4));
    row.setNumber(k.speed, speed);
    row.setNumber(k.odometer, this.odometer);
    row.setNumber(k.accelX, (speed - previousSpeed) / 3.6 / dt / 9.81 + random.signed() * 0.01);
    row.setNumber(k.pitch, Math.atan(grade) * 57.29578 + random.signed() * 0.2);
    row.setNumber(k.payload, this.payload);
    row.setScaled(k.loadCount, this.loadCount);
    row.setText(k.bodyUp, this.hoistAngle > 2 ? "true" : "false");
    row.setNumber(k.hoistAngle, this.hoistAngle);
    row.setNumber(k.rpm, this.rpm);
    row.setNumber(k.load, load * 100);
    row.setNumber(k.throttle, clamp(load * 100 + random.signed() * 4, 0, 100));
    row.setNumber(k.engineHours, this.engineHours);
    row.setScaled(k.idleTime, this.idleTime);
    row.setNumber(k.fuelRate, fuelRate);
    row.setNumber(k.fuelUsed, this.fuelUsed);
    row.setNumber(k.fuelLevel, this.fuelLevel);
    row.setText(k.parkBrake, state === STATE.queuing ? "true" : "false");
    row.setText(k.serviceBrake, targetSpeed < previousSpeed - 1 ? "true" : "false");
    row.setNumber(k.retarder, grade < -0.02 ? clamp(-grade * 700 + random.signed() * 5, 0, 100) : 0);
    row.setText(k.gear, GEAR_NAMES[gear + 1] ?? "7");
    row.setScaled(k.gearNum, gear);
    row.setNumber(k.outputRpm, speed * 38);
    row.setText(k.lockup, speed > 12 ? "true" : "false");
    row.setScaled(k.shifts, this.shiftCount);
    row.setScaled(k.haulCycles, this.haulCycles);
    row.setText(k.haulState, STATE_NAMES[state] ?? "HAULING");
    const status = state === STATE.queuing ? 2 : stopped && state !== STATE.loading ? 1 : 0;
    row.setText(k.status, STATUS_NAMES[status] ?? "RUNNING");
    row.setScaled(k.statusCode, 100 * (status + 1));
  }
}
