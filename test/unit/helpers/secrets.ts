import { hashSecret } from '#shared/domain/secrets.ts';

/** Small scrypt parameters so tests stay fast; the format is the same as production hashes. */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLen: 32 };

export const fastHash = (secret: string): Promise<string> => hashSecret(secret, FAST_SCRYPT);
