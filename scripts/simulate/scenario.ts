/**
 * `--scenario demo`: a scripted two-minute run (wall time) at ×60 starting at 09:55 Beijing time, so that production
 * is running, minute data arrive every 10 s and hourly data at 10:00 and 11:00 (about 5 s and 65 s in). It does one of
 * each injection and says what to look for on the platform.
 */
export interface ScenarioStep {
  /** wall-clock ms after start */
  at: number;
  command: string;
  lookFor: string;
}

export const DEMO_SPEED = 60;
export const DEMO_DURATION_MS = 120_000;

/**
 * 09:55 Beijing time on the latest day where the whole demo (two simulated hours) is already in the past: today, or
 * yesterday when it is earlier than 11:55 now. Future DataTimes would be refused by the alarm engine (a device clock
 * ahead of the platform) and would make the demo's data arrive "from the future".
 */
export function demoStart(now = Date.now()): number {
  const day = Math.floor((now + 8 * 3_600_000) / 86_400_000) * 86_400_000 - 8 * 3_600_000;
  const start = day + (9 * 60 + 55) * 60_000;
  return start + DEMO_SPEED * DEMO_DURATION_MS <= now ? start : start - 86_400_000;
}

export const DEMO_STEPS: ScenarioStep[] = [
  {
    at: 8_000,
    command: 'exceed BW01 cod 1.6',
    lookFor:
      'BW01 (bamboo plant) COD w01018 real-time ≈160 mg/L against a 100 mg/L limit: a 四级 接近限值 pre-warning, then the hourly average exceeds (三级 超标 alarm, SMS on /_local/messages)',
  },
  {
    at: 14_000,
    command: 'badcrc FA01 3',
    lookFor: 'three FA01 packets rejected with reason bad-crc (QnRtn=9 reply), each kept in the raw archive',
  },
  {
    at: 20_000,
    command: 'flag GA01 nox D',
    lookFor: 'GA01 a21002-Flag=D (instrument fault): after three flagged values a 三级 设备故障 alarm',
  },
  {
    at: 24_000,
    command: 'treatment-off PW01',
    lookFor:
      'PW01 (pencil plant, HJ/T 212-2005) SB2-RS=0 while SB1-RS=1: after 30 simulated minutes a 二级 治污设施异常 alarm (GET /alarms?type=facility_abnormal)',
  },
  {
    at: 26_000,
    command: 'treatment-off GA01',
    lookFor:
      'GA01 (heating station) ST=44 electricity: the recirculation fan meter d30106 reads 0 kW while the boiler d20105 draws power: after 30 simulated minutes a 二级 治污设施异常 alarm from electricity data (GET /alarms?type=facility_abnormal)',
  },
  {
    at: 30_000,
    command: 'quiet AB01 30',
    lookFor:
      'the WWTP AB01 (HJ 212-2025) sends only 9015 heartbeats for 30 simulated minutes (30 s; the gateway answers 9013), keeping its data; then it re-sends them with RF=1 (the summary counts them) and they are stored once, in their own time order, never paging as fresh alarms',
  },
  {
    at: 36_000,
    command: 'datagaps AB01',
    lookFor:
      "the platform measures silence from when data last arrived, in its own time (≥ 10 min): once the platform has stored the other devices' newer data, the simulator runs the local data-gap job as of 10 min after AB01's last data; its heartbeats do not count, so a 三级 数据缺失 alarm opens for AB01 (GET /alarms?type=data_gap) and none for the devices still sending; the RF=1 backlog clears it",
  },
  { at: 38_000, command: 'normal BW01', lookFor: 'BW01 COD back to ≈45 mg/L' },
  {
    at: 45_000,
    command: 'flat PA01 nmhc',
    lookFor: 'PA01 a24088 (NMHC) repeats the same value: after 30 values a 三级 数据造假嫌疑 clue (flat values)',
  },
  { at: 55_000, command: 'flag GA01 nox N', lookFor: 'GA01 NOx flags back to N' },
  {
    at: 60_000,
    command: 'rotate-key GA01',
    lookFor:
      'an administrator asks for a new SM4 key (POST /registry/devices/…GA01/sm4-key/rotation); within seconds the gateway pushes CN 1014 (encrypted under the current key), GA01 answers 9011 QnRtn=1 and 9012 ExeRtn=1 and encrypts with the new key: GET /registry/devices/33112600000000000000GA01 shows sm4.versions with version 2 current and version 1 previous; its readings go on without a gap',
  },
  { at: 100_000, command: 'normal PA01', lookFor: 'PA01 NMHC varies again' },
  { at: 105_000, command: 'normal PW01', lookFor: 'PW01 SB2-RS=1 again' },
  { at: 107_000, command: 'normal GA01', lookFor: 'GA01 d30106 draws power again' },
  { at: 110_000, command: 'status', lookFor: 'counts per device' },
];

export const DEMO_INTRO = [
  'demo: 2 minutes of wall time at ×60 from 09:55 Beijing time (one real second = one simulated minute).',
  'Every device sends real-time data every second or two, minute data every 1–10 s and hourly data at 10:00 and 11:00.',
  'AB01 and GA01 speak HJ 212-2025 with SM4-encrypted data (Flag=9); BW01, FA01 and PA01 HJ 212-2017, PW01 HJ/T 212-2005, FW01 JSON over MQTT.',
  'Watch the readings API and the raw archive as the steps below happen; every HJ 212-2017 packet over TCP should be acknowledged (9014).',
].join('\n');
