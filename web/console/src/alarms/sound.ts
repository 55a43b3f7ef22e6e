/**
 * The 一级 alarm sound: a two-tone chime every few seconds through the Web Audio API (no sound file to ship), from
 * the moment a 一级 alarm nobody has opened is on the list until someone opens it. Browsers let a page make sound only
 * after the user interacted with it: the official turns it on with 开启声音提醒 (remembered for the tab).
 */
const KEY = 'envwatch.alarmSound';
const REPEAT_MS = 4000;

let context: AudioContext | undefined;
let timer: ReturnType<typeof setInterval> | undefined;

export const soundAllowed = (): boolean => sessionStorage.getItem(KEY) === 'on';

/** Called from a click: creates (or resumes) the audio context, which the browser allows only then. */
export async function allowSound(): Promise<void> {
  context ??= new AudioContext();
  await context.resume();
  sessionStorage.setItem(KEY, 'on');
  chime();
}

export function disallowSound(): void {
  sessionStorage.removeItem(KEY);
  stopRinging();
}

function chime(): void {
  if (context?.state !== 'running') return;
  const now = context.currentTime;
  for (const [i, freq] of [880, 660].entries()) {
    const osc = context.createOscillator();
    const gain = context.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + i * 0.35);
    gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.35 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.35 + 0.3);
    osc.connect(gain).connect(context.destination);
    osc.start(now + i * 0.35);
    osc.stop(now + i * 0.35 + 0.32);
  }
}

/** Rings until stopRinging (idempotent); silent while the user has not allowed sound. */
export function startRinging(): void {
  if (timer || !soundAllowed()) return;
  context ??= new AudioContext();
  chime();
  timer = setInterval(chime, REPEAT_MS);
}

export function stopRinging(): void {
  if (timer) clearInterval(timer);
  timer = undefined;
}

export const ringing = (): boolean => timer !== undefined;

/** 一级 alarms opened by someone in this browser (opening one stops the sound for it). */
const SEEN = 'envwatch.alarmsOpened';
export function markOpened(alarmId: string): void {
  const seen = new Set<string>(JSON.parse(sessionStorage.getItem(SEEN) ?? '[]') as string[]);
  seen.add(alarmId);
  sessionStorage.setItem(SEEN, JSON.stringify([...seen].slice(-500)));
}
export function opened(alarmId: string): boolean {
  return (JSON.parse(sessionStorage.getItem(SEEN) ?? '[]') as string[]).includes(alarmId);
}
