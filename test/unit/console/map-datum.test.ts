import { describe, expect, it } from 'vitest';
import { ENTERPRISES, OUTLETS, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { toMapDatum, wgs84ToGcj02 } from '#web/console/src/map/datum.ts';
import boundary from '#web/console/src/map/qingyuan-boundary.json' with { type: 'json' };
import { SCHEMATIC_TOWNSHIP_POSITIONS } from '#web/console/src/map/townships-schematic.ts';

/** even-odd ray casting on one ring of [lng, lat] */
function inside([x, y]: [number, number], ring: number[][]): boolean {
  let hit = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi = 0, yi = 0] = ring[i] ?? [];
    const [xj = 0, yj = 0] = ring[j] ?? [];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const outline = (boundary.features[0]?.geometry.coordinates[0] ?? []) as number[][];

describe('console map datum', () => {
  it('converts WGS-84 to GCJ-02 as the published approximation does', () => {
    // the inverse pair of the widely used coordtransform: gcj02towgs84(116.404, 39.915) = (116.39775550083061, 39.91359571849836)
    const [lng, lat] = wgs84ToGcj02(116.39775550083061, 39.91359571849836);
    expect(lng).toBeCloseTo(116.404, 4);
    expect(lat).toBeCloseTo(39.915, 4);
  });

  it('leaves points outside China as they are, and draws as stored on a WGS-84 boundary', () => {
    expect(wgs84ToGcj02(2.35, 48.85)).toEqual([2.35, 48.85]);
    expect(toMapDatum({ lat: 27.6, lng: 119.06 }, 'WGS-84')).toEqual([119.06, 27.6]);
  });

  it('moves a Qingyuan point by a few hundred metres, as GCJ-02 does there', () => {
    const [lng, lat] = wgs84ToGcj02(119.062, 27.619);
    const metres = Math.hypot((lng - 119.062) * 98_600, (lat - 27.619) * 111_000);
    expect(metres).toBeGreaterThan(200);
    expect(metres).toBeLessThan(900);
  });

  it('names the boundary’s datum, and every township’s schematic position and seed unit falls inside the county', () => {
    expect(boundary.datum).toBe('GCJ-02');
    expect(outline.length).toBeGreaterThan(1000);
    for (const t of TOWNSHIPS) {
      const at = SCHEMATIC_TOWNSHIP_POSITIONS[t.id];
      expect(at, t.id).toBeDefined();
      expect(inside(toMapDatum(at as { lat: number; lng: number }, 'GCJ-02'), outline), t.id).toBe(true);
    }
    for (const p of [...ENTERPRISES, ...OUTLETS]) {
      expect(inside(toMapDatum(p.location, 'GCJ-02'), outline), p.id).toBe(true);
    }
  });
});
