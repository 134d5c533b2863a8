import { createHash } from 'node:crypto';
import {
  brokerEvent,
  decodeBody,
  headerText,
  lowerCaseHeaders,
  messageIdKey,
} from 'src/brokers/broker-event';
import { validateShape } from 'src/common/validate-shape';
import { AmqpTriggerDto, MqttTriggerDto, NatsTriggerDto } from 'src/flows/definitions/broker-trigger.dto';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');

describe('decodeBody', () => {
  it('parses JSON, keeps other UTF-8 as text and anything else as base64', () => {
    expect(decodeBody(bytes('{"a":[1,2]}'))).toEqual({ a: [1, 2] });
    expect(decodeBody(bytes('42'))).toBe(42);
    expect(decodeBody(bytes('hello, wörld'))).toBe('hello, wörld');
    expect(decodeBody(bytes(''))).toBe('');
    expect(decodeBody(Uint8Array.from([0xff, 0x00, 0xfe]))).toBe(
      Buffer.from([0xff, 0x00, 0xfe]).toString('base64'),
    );
  });

  it('keeps JSON that jsonb would refuse as its text, so the message can still be stored', () => {
    expect(decodeBody(bytes('{"a":"\\ud800"}'))).toBe('{"a":"\\ud800"}');
    const deep = '['.repeat(300) + ']'.repeat(300);
    expect(decodeBody(bytes(deep))).toBe(deep);
  });
});

describe('headers', () => {
  it('lower-cases names and turns values into text', () => {
    expect(
      lowerCaseHeaders([
        ['X-Tenant', 'acme'],
        ['Count', 3],
        ['Raw', Buffer.from('bytes')],
        ['Gone', undefined],
        ['x-tenant', 'other'],
      ]),
    ).toEqual({ 'x-tenant': 'acme, other', count: '3', raw: 'bytes' });
    expect(headerText({ nested: true })).toBe('{"nested":true}');
  });
});

describe('brokerEvent', () => {
  it('builds the event of API.md §11', () => {
    const event = brokerEvent(
      'amqp',
      {
        payload: bytes('{"order":7}'),
        headers: { 'message-id': 'm-1' },
        source: { queue: 'orders', messageId: 'm-1', redelivered: false },
      },
      new Date('2030-01-01T00:00:00.000Z'),
    );
    expect(event).toEqual({
      id: expect.any(String),
      type: 'amqp',
      receivedAt: '2030-01-01T00:00:00.000Z',
      headers: { 'message-id': 'm-1' },
      source: { queue: 'orders', messageId: 'm-1', redelivered: false },
      body: { order: 7 },
    });
  });

  it('hashes a message id the way a trigger.idempotencyKey value is stored', () => {
    expect(messageIdKey('m-1')).toBe(createHash('sha256').update('m-1').digest('base64url'));
  });
});

describe('broker trigger DTOs', () => {
  const check = (cls: new () => object, raw: Record<string, unknown>): string[] =>
    validateShape(cls, raw, 'trigger').errors;

  it('accepts the documented fields', () => {
    expect(
      check(AmqpTriggerDto, {
        type: 'amqp',
        url: 'amqp://guest:guest@127.0.0.1:5672',
        queue: 'orders',
        prefetch: 10,
      }),
    ).toEqual([]);
    expect(
      check(MqttTriggerDto, {
        type: 'mqtt',
        url: '{{ $secrets.MQTT_URL }}',
        topic: 'sensors/+/temp',
        qos: 0,
      }),
    ).toEqual([]);
    expect(
      check(NatsTriggerDto, {
        type: 'nats',
        url: 'nats://127.0.0.1:4222',
        subject: 'orders.>',
        stream: 'ORDERS',
        durable: 'hookflow',
      }),
    ).toEqual([]);
    expect(
      check(NatsTriggerDto, { type: 'nats', url: 'nats://127.0.0.1:4222', subject: 'orders.*' }),
    ).toEqual([]);
  });

  it('refuses URLs built from anything but secrets, and bad schemes', () => {
    expect(
      check(AmqpTriggerDto, { type: 'amqp', url: 'amqp://{{ event.body.host }}/', queue: 'q' }).join(),
    ).toMatch(/trigger.url: .*only use \{\{ \$secrets.NAME \}\}/);
    expect(check(AmqpTriggerDto, { type: 'amqp', url: 'http://127.0.0.1', queue: 'q' })).toEqual([
      'trigger.url must be a amqp:// or amqps:// URL',
    ]);
  });

  it('refuses bad prefetch, qos, topics, subjects and a stream without a durable', () => {
    expect(check(AmqpTriggerDto, { type: 'amqp', url: 'amqp://h', queue: 'q', prefetch: 1001 })).toHaveLength(
      1,
    );
    expect(check(MqttTriggerDto, { type: 'mqtt', url: 'mqtt://h', topic: 'a/#/b' })).toEqual([
      'trigger.topic: "#" must be a whole level, and the last',
    ]);
    expect(check(MqttTriggerDto, { type: 'mqtt', url: 'mqtt://h', topic: '$share/g/a' })).toHaveLength(1);
    expect(check(MqttTriggerDto, { type: 'mqtt', url: 'mqtt://h', topic: 'a', qos: 2 })).toHaveLength(1);
    expect(check(NatsTriggerDto, { type: 'nats', url: 'nats://h', subject: 'a.>.b' })).toHaveLength(1);
    expect(check(NatsTriggerDto, { type: 'nats', url: 'nats://h', subject: 'a', stream: 'S' })).toEqual([
      'trigger.stream needs durable (a JetStream durable consumer takes both)',
    ]);
  });
});
