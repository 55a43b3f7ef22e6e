import { ApiProblem, api, data } from '../../api/client.ts';

/**
 * Photos for a patrol finding (and an enterprise's evidence files for its answer), as the public tip form uploads them: upload slots from POST /evidence/uploads (type and
 * size signed), then one PUT per file to its presigned URL; the report names the upload ids and the API seals them
 * (metadata stripped, hashed) when the patrol is recorded.
 */
export async function uploadPhotos(
  files: File[],
  opts: { field: string; noun: string; measure: string } = { field: 'body.findings', noun: '照片', measure: '张' },
): Promise<string[]> {
  if (files.length === 0) return [];
  const { uploads } = await data(
    api().POST('/evidence/uploads', {
      body: { files: files.map((f) => ({ contentType: f.type || 'application/octet-stream', bytes: f.size })) },
    }),
  );
  await Promise.all(
    uploads.map(async (slot, i) => {
      const res = await fetch(slot.url, { method: slot.method, headers: slot.headers, body: files[i] ?? null });
      if (!res.ok) {
        throw new ApiProblem(res.status, `${opts.noun}上传失败`, undefined, [
          {
            field: opts.field,
            message: 'upload failed',
            messageZh: `第 ${i + 1} ${opts.measure}${opts.noun}上传失败，请重试`,
          },
        ]);
      }
    }),
  );
  return uploads.map((u) => u.uploadId);
}

/** The phone's position once (WGS-84, as the Geolocation API gives it), or why not, in Chinese. */
export function currentPosition(): Promise<{ lat: number; lng: number }> {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) {
      reject(new Error('此浏览器不支持定位'));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) =>
        resolve({ lat: Math.round(p.coords.latitude * 1e6) / 1e6, lng: Math.round(p.coords.longitude * 1e6) / 1e6 }),
      (e) =>
        reject(
          new Error(
            e.code === e.PERMISSION_DENIED
              ? '未允许定位：请在浏览器设置中允许本页使用位置信息'
              : '暂时无法获取位置，请到开阔处重试',
          ),
        ),
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 30_000 },
    );
  });
}
