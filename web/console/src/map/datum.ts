/**
 * Datums. EnvWatch stores every coordinate in WGS-84 (what a GNSS receiver and a phone's geolocation give); the
 * county outline the map draws comes from AMap in GCJ-02 (the datum Chinese web maps must use, offset from WGS-84 by a
 * few hundred metres here). So the map converts its WGS-84 points to GCJ-02 here, at the edge, just before drawing,
 * and nothing converted is ever stored or sent back. With a WGS-84 or CGCS2000 boundary (天地图, the bureau's own
 * survey), `BOUNDARY_DATUM` becomes 'WGS-84' and points are drawn as stored.
 *
 * The transformation is the published GCJ-02 approximation (Krasovsky ellipsoid, the standard offset polynomial);
 * it is accurate to about a metre within mainland China and is the identity outside it.
 */
export type Datum = 'WGS-84' | 'GCJ-02';

const A = 6378245.0;
const EE = 0.006693421622965943;

const outsideChina = (lng: number, lat: number) => lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271;

function transformLat(x: number, y: number): number {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function transformLng(x: number, y: number): number {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

/** WGS-84 → GCJ-02, as [lng, lat]. */
export function wgs84ToGcj02(lng: number, lat: number): [number, number] {
  if (outsideChina(lng, lat)) return [lng, lat];
  let dLat = transformLat(lng - 105, lat - 35);
  let dLng = transformLng(lng - 105, lat - 35);
  const radLat = (lat / 180) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dLng = (dLng * 180) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lng + dLng, lat + dLat];
}

/** A stored (WGS-84) point as the map draws it on a boundary in `datum`, as ECharts wants it: [lng, lat]. */
export function toMapDatum(point: { lat: number; lng: number }, datum: Datum): [number, number] {
  return datum === 'GCJ-02' ? wgs84ToGcj02(point.lng, point.lat) : [point.lng, point.lat];
}
