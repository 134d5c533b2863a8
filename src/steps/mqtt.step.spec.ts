import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import { MqttStepDto, mqttStep } from 'src/steps/mqtt.step';

const input = {
  event: { body: { room: 'kitchen', c: 21.5 } },
  steps: {},
  flow: { id: 'f', name: 'n', version: 1 },
  execution: { id: 'e' },
};
const ctx = { input, bindings: { secrets: { PW: 'p4ss' } }, depth: 0, services: { slackApiUrl: '' } };
const def = {
  id: 'pub',
  type: 'mqtt',
  url: 'mqtts://sensor:{{ $secrets.PW }}@broker.example.com:8883',
  topic: 'home/{{ event.body.room }}/temp',
  body: '{{ event.body.c }}',
} as MqttStepDto;

describe('mqtt step', () => {
  it('validates qos (0 or 1) and retain', () => {
    expect(validateShape(MqttStepDto, def, 's').errors).toEqual([]);
    const { errors } = validateShape(MqttStepDto, { ...def, qos: 2, retain: 'no' }, 's');
    expect(errors).toEqual([expect.stringContaining('s.qos'), expect.stringContaining('s.retain')]);
  });

  it('previews topic and body, QoS 1 by default, password masked', async () => {
    expect(await mqttStep.preview!(mqttStep.compile(def, 's'), def, ctx)).toEqual({
      request: {
        url: 'mqtts://***@broker.example.com:8883',
        topic: 'home/kitchen/temp',
        body: 21.5,
        qos: 1,
        retain: false,
      },
    });
  });

  it('refuses wildcards and an empty topic once rendered', async () => {
    for (const topic of ['home/+/temp', 'home/#', '{{ event.body.none }}']) {
      const d = { ...def, topic };
      await expect(mqttStep.preview!(mqttStep.compile(d, 's'), d, ctx)).rejects.toMatchObject({
        retryable: false,
      });
    }
  });
});
