import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamodb.ts';

/**
 * "Once" claims for scheduled checks, as items of a table the job already writes: pk `once#<key>`, sk `once`, `at`,
 * TTL `expiresAt` (KEEP_DAYS later; the key names its day, so an expired claim is never asked for again). `claim` is a
 * conditional put: true for the first caller of a key, false for every later one (a second run the same day, a
 * retried event). `release` gives a key back when the work it guarded failed.
 */
const KEEP_DAYS = 40;

export class DynamoDailyClaims {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(key: string, at: Date): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `once#${key}`,
            sk: 'once',
            kind: 'once',
            at: at.toISOString(),
            expiresAt: Math.floor(at.getTime() / 1000) + KEEP_DAYS * 86_400,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async release(key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: `once#${key}`, sk: 'once' } }));
  }
}
