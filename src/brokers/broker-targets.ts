import { BrokerTarget } from 'src/brokers/consumers/broker-consumer';
import { ExpressionInput } from 'src/expressions/expression';
import { CompiledTemplate, toText } from 'src/expressions/template';
import { BrokerTriggerDefinition } from 'src/flows/flow-definition';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { SecretsService } from 'src/secrets/secrets.service';
import {
  compileConnectionUrl,
  renderConnectionUrl,
  resolveAllowedAddress,
} from 'src/steps/connections/connection-url';
import { AllowList } from 'src/steps/outbound/address-guard';

const SCHEMES: Record<BrokerTriggerDefinition['type'], readonly string[]> = {
  amqp: ['amqp:', 'amqps:'],
  mqtt: ['mqtt:', 'mqtts:'],
  nats: ['nats:', 'tls:'],
};

/** What connection templates are rendered against: the secrets only (API.md §11). */
const NO_INPUT: ExpressionInput = {
  event: null,
  steps: {},
  flow: { id: '', name: '', version: 0 },
  execution: { id: null },
};

/**
 * Where a broker trigger connects: its URL (and MQTT user and password) rendered with the current
 * secrets at each connection attempt, the host resolved once and checked by the address guard
 * (OUTBOUND_ALLOW), as for outbound steps.
 */
export class BrokerTargets {
  private readonly compiled = new Map<string, CompiledTemplate>();
  /** The secret values last rendered, so status errors never show one. */
  private secretValues: string[] = [];

  constructor(
    private readonly allow: AllowList,
    private readonly secrets: SecretsService,
  ) {}

  private template(text: string, path: string): CompiledTemplate {
    let t = this.compiled.get(text);
    if (!t) {
      t = compileConnectionUrl(text, path);
      if (this.compiled.size > 1000) this.compiled.clear();
      this.compiled.set(text, t);
    }
    return t;
  }

  async target(trigger: BrokerTriggerDefinition): Promise<BrokerTarget> {
    const secrets = await this.secrets.values();
    this.secretValues = Object.values(secrets);
    const bindings = { secrets };
    const url = await renderConnectionUrl(
      this.template(trigger.url, 'trigger.url'),
      bindings,
      'trigger.url',
      SCHEMES[trigger.type],
    );
    const address = await resolveAllowedAddress(url.hostname, this.allow);
    const target: BrokerTarget = { url, address };
    if (trigger.type === 'mqtt') {
      const fromUrl = {
        username: url.username ? decodeURIComponent(url.username) : undefined,
        password: url.password ? decodeURIComponent(url.password) : undefined,
      };
      target.username =
        trigger.username !== undefined
          ? toText(await this.template(trigger.username, 'trigger.username').render(NO_INPUT, bindings))
          : fromUrl.username;
      target.password =
        trigger.password !== undefined
          ? toText(await this.template(trigger.password, 'trigger.password').render(NO_INPUT, bindings))
          : fromUrl.password;
    }
    return target;
  }

  mask(text: string): string {
    return maskSecrets(text, this.secretValues);
  }
}
