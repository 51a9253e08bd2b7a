import { Random } from "./random.js";

/**
 * A haul road from a pit's loading face up to a dump, as a polyline the trucks drive
 * back and forth. Each district's mine sits at its own spot in the Pilbara (the sites'
 * +08:00 is Western Australia); a few roads per district so trucks don't all overlap.
 */
export interface HaulRoad {
  /** Cumulative distance (m) at each vertex; the last is the road's length. */
  readonly distance: Float64Array;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  readonly alt: Float64Array;
  /** Bearing (degrees) and grade (rise/run) of the segment starting at each vertex. */
  readonly bearing: Float64Array;
  readonly grade: Float64Array;
  readonly length: number;
}

const METRES_PER_DEGREE = 111_320;
const ROADS_PER_DISTRICT = 3;
const cache = new Map<string, HaulRoad>();

export function haulRoadFor(district: string, deviceIndex: number): HaulRoad {
  const variant = deviceIndex % ROADS_PER_DISTRICT;
  const cacheKey = `${district}\u0000${variant}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const road = buildRoad(district, variant);
  cache.set(cacheKey, road);
  return road;
}

function buildRoad(district: string, variant: number): HaulRoad {
  const site = new Random("site", district);
  // Pilbara box: lat -20.5..-23.5, lon 116.5..120.5.
  const siteLat = -20.5 - site.float() * 3;
  const siteLon = 116.5 + site.float() * 4;
  const random = new Random("road", district, variant);
  const vertices = random.int(10, 16);
  const lat = new Float64Array(vertices);
  const lon = new Float64Array(vertices);
  const alt = new Float64Array(vertices);
  const distance = new Float64Array(vertices);
  lat[0] = siteLat + random.signed() * 0.01;
  lon[0] = siteLon + random.signed() * 0.01;
  alt[0] = 380 + random.float() * 60;
  let heading = random.float() * 360;
  for (let i = 1; i < vertices; i++) {
    const metres = 250 + random.float() * 350;
    heading = (heading + random.signed() * 40 + 360) % 360;
    const radians = (heading * Math.PI) / 180;
    const prevLat = lat[i - 1] ?? 0;
    lat[i] = prevLat + (metres * Math.cos(radians)) / METRES_PER_DEGREE;
    lon[i] =
      (lon[i - 1] ?? 0) +
      (metres * Math.sin(radians)) / (METRES_PER_DEGREE * Math.cos((prevLat * Math.PI) / 180));
    // Climbing out of the pit at up to 8%, flattening near the dump.
    const grade = i < vertices - 3 ? 0.05 + random.float() * 0.03 : random.signed() * 0.01;
    alt[i] = (alt[i - 1] ?? 0) + metres * grade;
    distance[i] = (distance[i - 1] ?? 0) + metres;
  }
  const bearing = new Float64Array(vertices);
  const grade = new Float64Array(vertices);
  for (let i = 0; i < vertices - 1; i++) {
    const run = (distance[i + 1] ?? 0) - (distance[i] ?? 0);
    const dLat = (lat[i + 1] ?? 0) - (lat[i] ?? 0);
    const dLon = ((lon[i + 1] ?? 0) - (lon[i] ?? 0)) * Math.cos(((lat[i] ?? 0) * Math.PI) / 180);
    bearing[i] = ((Math.atan2(dLon, dLat) * 180) / Math.PI + 360) % 360;
    grade[i] = ((alt[i + 1] ?? 0) - (alt[i] ?? 0)) / run;
  }
  bearing[vertices - 1] = bearing[vertices - 2] ?? 0;
  return { distance, lat, lon, alt, bearing, grade, length: distance[vertices - 1] ?? 0 };
}
