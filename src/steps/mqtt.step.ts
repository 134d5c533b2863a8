import { IsBoolean, IsDefined, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { CompiledTemplate, compileTemplate } from 'src/expressions/template';
import { connectionFailure, withDeadline } from 'src/steps/connections/connection-errors';
import { compileConnectionUrl, maskUrl, renderConnectionUrl } from 'src/steps/connections/connection-url';
import { isMqttRefusal, type MqttMessage } from 'src/steps/connections/mqtt-connection';
import {
  connectionsOf,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  encodeBody,
  renderedName,
} from 'src/steps/step-support';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepRunContext } from 'src/steps/step-handler';

export class MqttStepDto extends StepBaseDto {
  @IsIn(['mqtt']) declare type: 'mqtt';
  @IsString() @IsNotEmpty() @MaxLength(8192) url!: string;
  @IsString() @IsNotEmpty() @MaxLength(4096) topic!: string;
  @IsDefined({ message: 'body is required' }) body!: unknown;
  @IsOptional() @IsIn([0, 1]) qos?: 0 | 1;
  @IsOptional() @IsBoolean() retain?: boolean;
}

export interface CompiledMqtt {
  url: CompiledTemplate;
  topic: CompiledTemplate;
  body: CompiledTemplate;
}

/** MQTT topic names are UTF-8 strings of at most 65,535 bytes. */
const MAX_TOPIC_BYTES = 65_535;

async function renderMqtt(
  c: CompiledMqtt,
  def: MqttStepDto,
  ctx: Pick<StepRunContext, 'input' | 'bindings'>,
): Promise<{ url: URL; message: MqttMessage; request: Record<string, unknown> }> {
  const url = await renderConnectionUrl(c.url, ctx.bindings, 'url', ['mqtt:', 'mqtts:']);
  const topic = renderedName(await c.topic.render(ctx.input, ctx.bindings), 'topic', MAX_TOPIC_BYTES);
  const body = await c.body.render(ctx.input, ctx.bindings);
  const qos = def.qos ?? 1;
  const retain = def.retain ?? false;
  const request = { url: maskUrl(url), topic, body, qos, retain };
  // Wildcards subscribe; a message is published to one topic.
  if (/[+#\0]/.test(topic)) {
    throw new StepFailure('topic may not hold + or # (wildcards are for subscribing)', false, { request });
  }
  return { url, message: { topic, payload: encodeBody(body).payload, qos, retain }, request };
}

/** Publishes to an MQTT broker; with QoS 1 it succeeds once the broker's PUBACK arrived (API.md section 11). */
export const mqttStep: StepHandler<MqttStepDto, CompiledMqtt> = {
  type: 'mqtt',
  dto: MqttStepDto,
  pure: false,
  defaultAttempts: 5,
  compile(def, path) {
    return {
      url: compileConnectionUrl(def.url, `${path}.url`),
      topic: compileTemplate(def.topic, `${path}.topic`),
      body: compileTemplate(def.body, `${path}.body`),
    };
  },
  async run(c, def, ctx) {
    const { url, message, request } = await renderMqtt(c, def, ctx);
    const timeoutMs = def.timeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
    const pool = connectionsOf(ctx).mqtt;
    try {
      await withDeadline(
        pool.use(url, timeoutMs, (conn) => conn.publish(message)),
        timeoutMs,
        'publishing to MQTT',
      );
    } catch (e) {
      throw connectionFailure(e, request, isMqttRefusal);
    }
    return { kind: 'succeeded', output: { published: true }, request };
  },
  async preview(c, def, ctx) {
    return { request: (await renderMqtt(c, def, ctx)).request };
  },
};
