import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
} from 'class-validator';
import { compileConnectionUrl } from 'src/steps/connections/connection-url';

export const BROKER_TRIGGER_TYPES = ['amqp', 'mqtt', 'nats'] as const;
export type BrokerTriggerType = (typeof BROKER_TRIGGER_TYPES)[number];

export function isBrokerTriggerType(type: string): type is BrokerTriggerType {
  return (BROKER_TRIGGER_TYPES as readonly string[]).includes(type);
}

export const DEFAULT_PREFETCH = 32;
export const DEFAULT_MQTT_QOS = 1;
const MAX_URL = 2000;

/** Why a connection template (URL, user, password) is refused, or null: literal text and `{{ $secrets.X }}` only. */
function connectionTemplateProblem(value: unknown, path: string, schemes?: readonly string[]): string | null {
  if (typeof value !== 'string') return `${path} must be a string`;
  if (value.length > MAX_URL) return `${path} must be at most ${MAX_URL} characters`;
  try {
    compileConnectionUrl(value, path);
  } catch (e) {
    return (e as Error).message;
  }
  // A URL with no template part can be checked now; a templated one is checked when it is rendered.
  if (schemes && !value.includes('{{')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `${path} is not a valid URL`;
    }
    if (!schemes.includes(url.protocol))
      return `${path} must be a ${schemes.map((s) => `${s}//`).join(' or ')} URL`;
    if (url.hostname === '') return `${path} has no host`;
  }
  return null;
}

/** A connection URL (or user, password): literal text and `{{ $secrets.NAME }}` parts only (API.md §11). */
function IsConnectionTemplate(schemes?: readonly string[]): PropertyDecorator {
  return ValidateBy({
    name: 'isConnectionTemplate',
    validator: {
      validate: (v: unknown, args) => connectionTemplateProblem(v, args?.property ?? 'url', schemes) === null,
      defaultMessage: (args) =>
        connectionTemplateProblem(args?.value, args?.property ?? 'url', schemes) ?? 'invalid connection text',
    },
  });
}

/** Why an MQTT topic filter is refused, or null (MQTT 5 §4.7: `+` a whole level, `#` the last level). */
export function mqttTopicProblem(topic: string): string | null {
  if (topic.includes('\u0000')) return 'topic must not contain NUL';
  if (topic.startsWith('$share/')) return 'topic must not be a $share/ filter; hookflow shares it itself';
  const levels = topic.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return 'topic: "#" must be a whole level, and the last';
    if (level.includes('+') && level !== '+') return 'topic: "+" must be a whole level';
  }
  return null;
}

/** Why a NATS subject is refused, or null: dot-separated tokens, `*` a whole token, `>` the last. */
export function natsSubjectProblem(subject: string): string | null {
  if (/\s/.test(subject)) return 'subject must not contain whitespace';
  const tokens = subject.split('.');
  for (const [i, token] of tokens.entries()) {
    if (token === '') return 'subject must not have empty tokens';
    if (token.includes('>') && (token !== '>' || i !== tokens.length - 1))
      return 'subject: ">" must be a whole token, and the last';
    if (token.includes('*') && token !== '*') return 'subject: "*" must be a whole token';
  }
  return null;
}

function IsByRule(name: string, rule: (value: string) => string | null): PropertyDecorator {
  return ValidateBy({
    name,
    validator: {
      validate: (v: unknown) => typeof v === 'string' && rule(v) === null,
      defaultMessage: (args) =>
        typeof args?.value === 'string' ? (rule(args.value) ?? name) : `${args?.property} must be a string`,
    },
  });
}

/** `stream` and `durable` come together (JetStream) or not at all (core NATS). */
function ComesWith(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'comesWith',
    validator: {
      validate: (_v: unknown, args) => (args?.object as Record<string, unknown>)[other] !== undefined,
      defaultMessage: (args) => `${args?.property} needs ${other} (a JetStream durable consumer takes both)`,
    },
  });
}

/** Fields every broker trigger has. */
class BrokerTriggerBaseDto {
  /** JSONata; defaults to the broker's message id where it has one (API.md §11). */
  @IsOptional() @IsString() @MaxLength(10_000) idempotencyKey?: string;
}

export class AmqpTriggerDto extends BrokerTriggerBaseDto {
  @IsIn(['amqp']) type!: 'amqp';
  @IsConnectionTemplate(['amqp:', 'amqps:']) url!: string;
  @IsString() @MinLength(1) @MaxLength(255) queue!: string;
  @IsOptional() @IsInt() @Min(1) @Max(1000) prefetch?: number;
}

export class MqttTriggerDto extends BrokerTriggerBaseDto {
  @IsIn(['mqtt']) type!: 'mqtt';
  @IsConnectionTemplate(['mqtt:', 'mqtts:']) url!: string;
  @IsString() @MinLength(1) @MaxLength(65_000) @IsByRule('isMqttTopic', mqttTopicProblem) topic!: string;
  @IsOptional() @IsIn([0, 1]) qos?: 0 | 1;
  @IsOptional() @IsConnectionTemplate() username?: string;
  @IsOptional() @IsConnectionTemplate() password?: string;
}

const NATS_NAME = /^[A-Za-z0-9_-]{1,255}$/;

export class NatsTriggerDto extends BrokerTriggerBaseDto {
  @IsIn(['nats']) type!: 'nats';
  @IsConnectionTemplate(['nats:', 'tls:']) url!: string;
  @IsString() @MinLength(1) @MaxLength(1000) @IsByRule('isNatsSubject', natsSubjectProblem) subject!: string;
  /** With `durable`: a JetStream durable consumer on this stream; without both, core NATS. */
  @IsOptional()
  @Matches(NATS_NAME, { message: 'stream may hold letters, digits, _ and -' })
  @ComesWith('durable')
  stream?: string;
  @IsOptional()
  @Matches(NATS_NAME, { message: 'durable may hold letters, digits, _ and -' })
  @ComesWith('stream')
  durable?: string;
}
