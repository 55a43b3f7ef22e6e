import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '#shared/domain/cursor.ts';
import { ValidationError } from '#shared/domain/errors.ts';

/** One DynamoDB document client per module load (Lambda container); AWS_ENDPOINT_URL_DYNAMODB redirects it locally. */
export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});

export { decodeCursor, encodeCursor };

/** The ExclusiveStartKey a page cursor stands for; a cursor that is not ours is a 400 on `query.cursor`. */
export function startKeyOf(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  const key = decodeCursor(cursor);
  if (!key) {
    throw new ValidationError('cursor is not valid (翻页游标无效)', [
      { field: 'query.cursor', message: 'malformed', messageZh: '翻页游标无效，请使用上一页返回的 cursor' },
    ]);
  }
  return key;
}

/** True when a transaction or conditional write failed on its condition. */
export function isConditionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ConditionalCheckFailedException') return true;
  if (err.name === 'TransactionCanceledException') {
    const reasons = (err as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'ConditionalCheckFailed');
  }
  return false;
}
