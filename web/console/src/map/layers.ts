import type { RouteLocationRaw } from 'vue-router';

/** What a page puts on the county map (CountyMap.vue): coordinates in WGS-84, as stored. */
export interface LatLng {
  lat: number;
  lng: number;
}

export interface MapPoint {
  id: string;
  name: string;
  at: LatLng;
  /** overrides the layer's colour (e.g. a unit by its worst open alarm) */
  colour?: string;
  /** a second line in the tooltip and the side panel */
  detail?: string;
  /** where clicking it leads */
  to?: RouteLocationRaw;
}

export interface MapLine {
  id: string;
  name: string;
  path: LatLng[];
}

export type MapLayer =
  | { kind: 'points'; name: string; colour: string; symbol?: string; size?: number; points: MapPoint[] }
  | { kind: 'lines'; name: string; colour: string; lines: MapLine[] };

/** The colours of alarm levels on the map and in its legend (一级 red … 四级 green), and of a unit without one. */
export const LEVEL_COLOURS: Record<number, string> = { 1: '#c0392b', 2: '#b34700', 3: '#876a00', 4: '#2e6f40' };
export const NO_ALARM_COLOUR = '#2f6fb0';
