import { DatabaseError } from 'pg';
import { isAmqpRefusal } from 'src/steps/connections/amqp-connection';
import { connectionFailure, DeadlineError, withDeadline } from 'src/steps/connections/connection-errors';
import { isMqttRefusal } from 'src/steps/connections/mqtt-connection';
import { isNatsRefusal } from 'src/steps/connections/nats-connection';
import { isSmtpRefusal } from 'src/steps/connections/smtp-connection';
import { isSqlRefusal } from 'src/steps/connections/sql-connection';
import { OutboundPolicyError } from 'src/steps/outbound/guarded-lookup';

function err(message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), fields);
}

function pgError(code: string): DatabaseError {
  const e = new DatabaseError('boom', 0, 'error');
  e.code = code;
  return e;
}

describe('retry classification of the broker, database and mail steps', () => {
  it('retries connection errors and timeouts, not the guard', async () => {
    const request = { url: 'amqp://***@h' };
    expect(
      connectionFailure(err('connect ECONNREFUSED', { code: 'ECONNREFUSED' }), request, () => false)
        .retryable,
    ).toBe(true);
    const timedOut = await withDeadline(new Promise(() => undefined), 5, 'publishing').catch(
      (e: unknown) => e,
    );
    expect(timedOut).toBeInstanceOf(DeadlineError);
    const failure = connectionFailure(timedOut, request, () => true);
    expect(failure).toMatchObject({ retryable: true, message: 'publishing timed out after 5 ms' });
    expect(failure.detail.request).toBe(request);
    expect(connectionFailure(new OutboundPolicyError('refused'), request, () => false).retryable).toBe(false);
  });

  it('amqp: the broker refusing (not found, access refused, nack) is final', () => {
    expect(isAmqpRefusal(err('Channel closed by server: 404', { code: 404 }))).toBe(true);
    expect(isAmqpRefusal(err('Handshake terminated by server: 403 (ACCESS-REFUSED)'))).toBe(true);
    expect(isAmqpRefusal(err('message nacked'))).toBe(true);
    expect(isAmqpRefusal(err('Connection closed: 320 (CONNECTION-FORCED)', { code: 320 }))).toBe(false);
    expect(isAmqpRefusal(err('connect ECONNREFUSED', { code: 'ECONNREFUSED' }))).toBe(false);
  });

  it('mqtt: a reason code is final unless it means "later"', () => {
    expect(isMqttRefusal(err('Connection refused: Not authorized', { code: 5 }))).toBe(true);
    expect(isMqttRefusal(err('Publish error: Not authorized', { code: 0x87 }))).toBe(true);
    expect(isMqttRefusal(err('Connection refused: Server unavailable', { code: 3 }))).toBe(false);
    expect(isMqttRefusal(err('Server busy', { code: 0x89 }))).toBe(false);
    expect(isMqttRefusal(err('connack timeout'))).toBe(false);
  });

  it('nats: permission violations and JetStream API errors are final', () => {
    expect(isNatsRefusal(err("'Authorization Violation'", { code: 'AUTHORIZATION_VIOLATION' }))).toBe(true);
    expect(
      isNatsRefusal(err('maximum messages exceeded', { api_error: { code: 503, err_code: 10077 } })),
    ).toBe(true);
    expect(isNatsRefusal(err('TIMEOUT', { code: 'TIMEOUT' }))).toBe(false);
    expect(isNatsRefusal(err('503', { code: '503' }))).toBe(false);
  });

  it('sql: SQL errors are final, connection losses, shutdowns and timeouts are not', () => {
    expect(isSqlRefusal(pgError('42P01'))).toBe(true); // undefined_table
    expect(isSqlRefusal(pgError('23505'))).toBe(true); // unique_violation
    expect(isSqlRefusal(pgError('28P01'))).toBe(true); // invalid_password
    expect(isSqlRefusal(pgError('08P01'))).toBe(true); // protocol_violation (e.g. wrong param count)
    expect(isSqlRefusal(pgError('57014'))).toBe(false); // statement timeout
    expect(isSqlRefusal(pgError('57P01'))).toBe(false); // admin shutdown
    expect(isSqlRefusal(pgError('08006'))).toBe(false);
    expect(isSqlRefusal(err('Connection terminated unexpectedly'))).toBe(false);
    expect(isSqlRefusal(err("Table 'x' doesn't exist", { errno: 1146, sqlState: '42S02' }))).toBe(true);
    expect(isSqlRefusal(err('Access denied', { errno: 1045, sqlState: '28000' }))).toBe(true);
    expect(isSqlRefusal(err('max_statement_time exceeded', { errno: 1969, sqlState: '70100' }))).toBe(false);
    expect(isSqlRefusal(err('Too many connections', { errno: 1040, sqlState: '08004' }))).toBe(false);
    expect(isSqlRefusal(err('read ECONNRESET', { code: 'ECONNRESET', errno: -104 }))).toBe(false);
  });

  it('email: a 5xx is final, a 4xx and a lost connection are not', () => {
    expect(isSmtpRefusal(err('Invalid login: 535', { code: 'EAUTH', responseCode: 535 }))).toBe(true);
    expect(isSmtpRefusal(err('Recipient rejected', { code: 'EENVELOPE', responseCode: 550 }))).toBe(true);
    expect(isSmtpRefusal(err('Greylisted', { code: 'EENVELOPE', responseCode: 451 }))).toBe(false);
    expect(isSmtpRefusal(err('No recipients defined', { code: 'EENVELOPE' }))).toBe(true);
    expect(isSmtpRefusal(err('Connection closed', { code: 'ECONNECTION' }))).toBe(false);
  });
});
