/**
 * Where the map puts each township's label when the registry has no `centre` for it. No packaged boundary set carries
 * Qingyuan's township boundaries, so these are SCHEMATIC positions (示意位置): roughly where each township's seat
 * lies, in WGS-84, to orient the reader; they are not survey data and the map says so. A township's `centre` in the
 * registry (名录 → 乡镇) replaces its schematic position; boundaries need the bureau's own data (docs/console-registry.md).
 */
export const SCHEMATIC_TOWNSHIP_POSITIONS: Readonly<Record<string, { lat: number; lng: number }>> = {
  songyuan: { lat: 27.619, lng: 119.062 },
  mengzhou: { lat: 27.627, lng: 119.082 },
  pingdu: { lat: 27.6, lng: 119.03 },
  huangtian: { lat: 27.67, lng: 118.975 },
  zhukou: { lat: 27.71, lng: 118.9 },
  hedi: { lat: 27.78, lng: 119.3 },
  zuoxi: { lat: 27.72, lng: 119.21 },
  xianliang: { lat: 27.56, lng: 119.27 },
  baishanzu: { lat: 27.74, lng: 119.15 },
  lingtou: { lat: 27.59, lng: 119.12 },
  wudabao: { lat: 27.55, lng: 119.16 },
  yushang: { lat: 27.57, lng: 119.21 },
  annan: { lat: 27.68, lng: 119.27 },
  zhangcun: { lat: 27.57, lng: 118.93 },
  longgong: { lat: 27.52, lng: 119.0 },
  jushui: { lat: 27.63, lng: 119.34 },
  jianggen: { lat: 27.47, lng: 119.16 },
  hehu: { lat: 27.67, lng: 119.42 },
  guantang: { lat: 27.62, lng: 119.38 },
};
